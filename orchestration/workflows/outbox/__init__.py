"""The outbox's sender: every few seconds, what is due goes out (SMTP, signed webhooks)."""
