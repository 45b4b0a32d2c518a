"""Vision: face attendance, image search, room inspection (later issues). A domain package:
imports base, lake and features, never Dagster or FastAPI."""
