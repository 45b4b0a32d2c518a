-- One row per employee.
with src as (
    select * from {{ source('bronze', 'employees') }}
)

select
    src.employee_id,
    {{ hotel_columns('src') }},
    src.full_name,
    lower(src.department) as department,
    src.role,
    src.hired_on,
    src._ingested_at
from src
{{ hotel_join('src') }}
