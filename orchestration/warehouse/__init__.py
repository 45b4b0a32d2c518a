"""Bronze → dbt staging / intermediate / marts (dagster-dbt) → the published marts file."""

import dagster as dg

# The published marts file: the end of the lakehouse and the start of features and models.
MARTS_FILE = dg.AssetKey(["warehouse", "marts_file"])
