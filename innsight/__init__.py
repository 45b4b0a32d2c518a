"""Innsight platform-wide pieces: the settings object and the command line."""
