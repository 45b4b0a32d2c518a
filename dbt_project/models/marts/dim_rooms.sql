-- One row per physical room of the PMS room master, with its latest inspection.
with latest_inspection as (
    select *
    from {{ ref('fct_room_inspections') }}
    qualify row_number() over (
        partition by hotel, room_number order by inspected_at desc, inspection_id desc
    ) = 1
)

select
    r.hotel,
    r.hotel_code,
    r.room_number,
    r.room_type,
    r.floor,
    r.max_occupancy as capacity,
    r.base_rate,
    li.inspection_id as latest_inspection_id,
    li.inspected_at as latest_inspected_at,
    li.status as latest_inspection_status,
    li.negative_tag_count as latest_negative_tag_count,
    li.ready_for_guest as is_ready_for_guest
from {{ ref('stg_pms_rooms') }} as r
left join latest_inspection as li
  on li.hotel = r.hotel
 and li.room_number = r.room_number
