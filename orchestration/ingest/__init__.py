"""Landing → bronze: one asset per source, the landing sensor, the hourly PMS sync."""
