"""Face attendance, image search and room inspection (vision issue)."""
