"""Language: the knowledge base built from the Markdown documents, re-indexed when one
changes."""
