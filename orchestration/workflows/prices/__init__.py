"""Prices: the 03:00 pricing run's changes -> a rate update for the PMS (a file in the outbound
folder and a signed webhook, through the outbox) and the revenue manager's summary."""
