"""Language: retrieval over the bilingual knowledge base, guest-request routing, the staff
assistant and messages (later issues). A domain package: imports base, lake and features,
never Dagster or FastAPI."""
