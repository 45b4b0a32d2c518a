-- One row per room inspection, with the room's type and the previous inspection's status.
select
    i.inspection_id,
    i.hotel,
    i.hotel_code,
    i.room_number,
    r.room_type,
    r.floor,
    i.inspected_at,
    cast(i.inspected_at as date) as inspected_date,
    i.camera_id,
    i.inspector_id,
    i.status,
    t.tag_count,
    t.negative_tag_count,
    t.negative_tags,
    i.status in ('clean', 'inspected') and t.negative_tag_count = 0 as ready_for_guest,
    lag(i.status) over w as previous_status,
    lag(i.inspected_at) over w as previous_inspected_at,
    i.image_id
from {{ ref('stg_room_inspections') }} as i
join {{ ref('int_inspection_tags') }} as t on t.inspection_id = i.inspection_id
left join {{ ref('stg_pms_rooms') }} as r
  on r.hotel = i.hotel
 and r.room_number = i.room_number
window w as (partition by i.hotel, i.room_number order by i.inspected_at, i.inspection_id)
