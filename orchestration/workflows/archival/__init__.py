"""Archival: monthly, rows older than their retention move to archive tables (or are deleted
where the retention says so), with what moved in the run's metadata."""
