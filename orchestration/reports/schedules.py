"""Reports in the morning, after the night's work: the 03:00 prices, the 02:00 models and
the hourly PMS sync have run. The daily flash at 06:30 (yesterday), the weekly review on
Monday at 07:00 (last week), the monthly pack on the 1st at 07:30 (last month)."""

import dagster as dg

from orchestration.reports.jobs import REPORT_JOBS

REPORT_SCHEDULES = [
    dg.build_schedule_from_partitioned_job(
        REPORT_JOBS["daily"], name="daily_flash_schedule", hour_of_day=6, minute_of_hour=30,
        default_status=dg.DefaultScheduleStatus.RUNNING),
    dg.build_schedule_from_partitioned_job(
        REPORT_JOBS["weekly"], name="weekly_review_schedule", day_of_week=1, hour_of_day=7,
        default_status=dg.DefaultScheduleStatus.RUNNING),
    dg.build_schedule_from_partitioned_job(
        REPORT_JOBS["monthly"], name="monthly_pack_schedule", day_of_month=1, hour_of_day=7,
        minute_of_hour=30, default_status=dg.DefaultScheduleStatus.RUNNING),
]
