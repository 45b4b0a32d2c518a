"""The lakehouse: Delta bronze tables, source contracts, quarantine and ingest."""
