"""The no-show check, every 15 minutes."""

import dagster as dg

from orchestration.workflows.attendance.jobs import NO_SHOW_JOB

no_show_schedule = dg.ScheduleDefinition(
    name="attendance_no_show_check", job=NO_SHOW_JOB, cron_schedule="*/15 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes: shifts past their grace period with no check-in.")
