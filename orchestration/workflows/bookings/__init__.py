"""New booking: scored by the cancellation champion; a high risk records the recommended
actions and queues the confirmation notice that carries them."""
