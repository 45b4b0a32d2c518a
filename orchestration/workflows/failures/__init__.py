"""Failures: a failed run or a failed asset check alerts the operations channel with the run's
link, through the outbox."""
