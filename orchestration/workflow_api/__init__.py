"""What the API's workflow routes need on the Dagster side: the sensor that launches the
runs triggered for later (``operations.deferred_runs``)."""
