"""Attendance: a check-in later than the shift start plus the grace period -> the lateness in
fct_attendance -> one notice to the department's supervisor; no-shows after the grace period."""
