"""The 03:00 price schedule from the champion pricing model, into the lake."""
