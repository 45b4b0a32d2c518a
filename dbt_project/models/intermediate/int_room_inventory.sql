-- Rooms available per hotel x room type. A hotel whose rooms are in the PMS room master
-- (pms_rooms) is counted from it; a hotel without any room there (the two real hotels of the
-- extract) falls back to the property master's inventory (lake/reference/properties.yaml).
with pms as (
    select
        hotel,
        any_value(hotel_code) as hotel_code,
        room_type,
        count(*) as rooms_available,
        avg(base_rate) as base_rate
    from {{ ref('stg_pms_rooms') }}
    where room_type is not null
    group by hotel, room_type
),

listed as (
    select
        l.hotel_name as hotel,
        l.hotel_code,
        l.room_type,
        l.rooms as rooms_available,
        l.base_rate
    from {{ ref('stg_property_room_types') }} as l
    where not exists (select 1 from pms where pms.hotel = l.hotel_name)
)

select hotel, hotel_code, room_type, cast(rooms_available as integer) as rooms_available,
       base_rate, 'pms_rooms' as inventory_source
from pms
union all
select hotel, hotel_code, room_type, cast(rooms_available as integer) as rooms_available,
       base_rate, 'properties' as inventory_source
from listed
