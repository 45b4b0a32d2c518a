"""The `innsight` command line: the top of the platform (it may import every package)."""
