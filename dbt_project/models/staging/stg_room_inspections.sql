-- One row per room inspection; tags stay a list of {label, confidence} structs.
with src as (
    select * from {{ source('bronze', 'room_inspections') }}
)

select
    src.inspection_id,
    {{ hotel_columns('src') }},
    cast(src.room_number as varchar) as room_number,
    src.inspected_at,
    src.camera_id,
    src.inspector_id,
    lower(src.status) as status,
    src.tags,
    coalesce(len(src.tags), 0) as tag_count,
    src.image_id,
    src._ingested_at
from src
{{ hotel_join('src') }}
