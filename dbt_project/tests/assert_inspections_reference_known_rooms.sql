-- Every inspected room (hotel, room_number) is in the PMS room master. Warn: rooms of
-- hotels not yet in the room master are reported, not blocking.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_room_inspections'}}}) }}
select i.inspection_id, i.hotel, i.room_number
from {{ ref('stg_room_inspections') }} as i
left join {{ ref('stg_pms_rooms') }} as r
  on r.hotel = i.hotel
 and r.room_number = i.room_number
where i.room_number is not null
  and r.room_number is null
