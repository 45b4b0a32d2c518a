"""The workflows' assets, jobs, sensors and schedules, for the code location."""

from orchestration.workflows.anomalies.assets import anomaly_notices
from orchestration.workflows.anomalies.jobs import ANOMALY_JOB
from orchestration.workflows.anomalies.sensors import anomaly_sensor
from orchestration.workflows.archival.assets import archival
from orchestration.workflows.archival.jobs import ARCHIVAL_JOB
from orchestration.workflows.archival.schedules import archival_schedule
from orchestration.workflows.attendance.assets import attendance_notices, no_show_notices
from orchestration.workflows.attendance.jobs import ATTENDANCE_JOB, NO_SHOW_JOB
from orchestration.workflows.attendance.schedules import no_show_schedule
from orchestration.workflows.attendance.sensors import attendance_sensor
from orchestration.workflows.bookings.assets import booking_actions
from orchestration.workflows.bookings.jobs import BOOKING_JOB
from orchestration.workflows.bookings.sensors import booking_sensor
from orchestration.workflows.failures.sensors import failed_check_alert, run_failure_alert
from orchestration.workflows.guest_requests.assets import task_escalations, tasks
from orchestration.workflows.guest_requests.jobs import ESCALATION_JOB, GUEST_REQUEST_JOB
from orchestration.workflows.guest_requests.schedules import escalation_schedule
from orchestration.workflows.guest_requests.sensors import guest_request_sensor
from orchestration.workflows.lost_found.assets import lost_found_matches
from orchestration.workflows.lost_found.jobs import LOST_FOUND_JOB
from orchestration.workflows.lost_found.sensors import lost_found_sensor
from orchestration.workflows.outbox.sensors import outbox_sender
from orchestration.workflows.prices.assets import rate_update
from orchestration.workflows.room_ready.assets import room_ready_messages
from orchestration.workflows.room_ready.jobs import ROOM_READY_JOB
from orchestration.workflows.room_ready.sensors import room_ready_sensor

WORKFLOW_ASSETS = [attendance_notices, no_show_notices, room_ready_messages, booking_actions,
                   tasks, task_escalations, lost_found_matches, anomaly_notices, rate_update,
                   archival]
WORKFLOW_JOBS = [ATTENDANCE_JOB, NO_SHOW_JOB, ROOM_READY_JOB, BOOKING_JOB, GUEST_REQUEST_JOB,
                 ESCALATION_JOB, LOST_FOUND_JOB, ANOMALY_JOB, ARCHIVAL_JOB]
WORKFLOW_SENSORS = [attendance_sensor, room_ready_sensor, booking_sensor, guest_request_sensor,
                    lost_found_sensor, anomaly_sensor, run_failure_alert, failed_check_alert,
                    outbox_sender]
WORKFLOW_SCHEDULES = [no_show_schedule, escalation_schedule, archival_schedule]
