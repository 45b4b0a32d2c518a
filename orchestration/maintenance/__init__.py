"""Delta table maintenance: compaction, vacuum, checkpoints."""
