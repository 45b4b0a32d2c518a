-- One row per property of the group (property master), with its room inventory.
with inventory as (
    select hotel, sum(rooms_available) as rooms, count(*) as room_types,
           any_value(inventory_source) as inventory_source
    from {{ ref('int_room_inventory') }}
    group by hotel
)

select
    p.hotel_code,
    p.hotel_name as hotel,
    p.city,
    p.country,
    p.currency,
    p.is_real,
    cast(coalesce(i.room_types, 0) as integer) as room_types,
    cast(coalesce(i.rooms, 0) as integer) as rooms,
    i.inventory_source
from {{ ref('stg_properties') }} as p
left join inventory as i on i.hotel = p.hotel_name
