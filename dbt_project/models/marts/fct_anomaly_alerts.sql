-- One row per safety anomaly alert from the cameras.
select
    alert_id,
    hotel,
    hotel_code,
    camera_id,
    detected_at,
    cast(detected_at as date) as detected_date,
    alert_type,
    confidence,
    severity,
    case severity when 'low' then 1 when 'medium' then 2 when 'high' then 3 when 'critical' then 4 end
        as severity_rank,
    severity in ('high', 'critical') as is_urgent,
    box_x,
    box_y,
    box_w,
    box_h
from {{ ref('stg_anomaly_alerts') }}
