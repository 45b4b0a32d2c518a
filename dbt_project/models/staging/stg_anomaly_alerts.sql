-- One row per safety anomaly alert.
with src as (
    select * from {{ source('bronze', 'anomaly_alerts') }}
)

select
    src.alert_id,
    {{ hotel_columns('src') }},
    src.camera_id,
    src.detected_at,
    lower(src.type) as alert_type,
    cast(src.confidence as double) as confidence,
    lower(src.severity) as severity,
    src.box_x,
    src.box_y,
    src.box_w,
    src.box_h,
    src._ingested_at
from src
{{ hotel_join('src') }}
