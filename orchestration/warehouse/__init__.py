"""Bronze → dbt staging / intermediate / marts (dagster-dbt) → the published marts file."""
