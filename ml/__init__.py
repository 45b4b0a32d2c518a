"""Model training and inference shared by orchestration and serving (issue 3)."""
