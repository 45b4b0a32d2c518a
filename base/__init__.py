"""The ground floor: the settings object and the few helpers every layer shares (atomic
file writes, logging). Imports nothing of the platform."""
