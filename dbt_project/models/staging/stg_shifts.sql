-- One row per planned shift.
with src as (
    select * from {{ source('bronze', 'shifts') }}
)

select
    src.shift_id,
    src.employee_id,
    {{ hotel_columns('src') }},
    src.shift_date,
    src.start_at,
    src.end_at,
    date_diff('minute', src.start_at, src.end_at) as scheduled_minutes,
    src._ingested_at
from src
{{ hotel_join('src') }}
