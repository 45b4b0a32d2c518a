-- One row per check-in / check-out event.
select
    event_id,
    employee_id,
    event_at,
    lower(action) as action,
    camera_id,
    cast(confidence as double) as confidence,
    lower(source) as source,
    _ingested_at
from {{ source('bronze', 'attendance_events') }}
