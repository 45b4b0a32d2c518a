-- One row per physical room (hotel x room_number).
with src as (
    select * from {{ source('bronze', 'pms_rooms') }}
)

select
    {{ hotel_columns('src') }},
    cast(src.room_number as varchar) as room_number,
    src.room_type,
    src.floor,
    src.max_occupancy,
    cast(src.base_rate as double) as base_rate,
    src._ingested_at
from src
{{ hotel_join('src') }}
