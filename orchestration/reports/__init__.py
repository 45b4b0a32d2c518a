"""The general manager's reports as partitioned assets: daily, weekly and monthly."""
