"""The escalation check, every 5 minutes."""

import dagster as dg

from orchestration.workflows.guest_requests.jobs import ESCALATION_JOB

escalation_schedule = dg.ScheduleDefinition(
    name="task_escalation_check", job=ESCALATION_JOB, cron_schedule="*/5 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 5 minutes: tasks past due -> the supervisor.")
