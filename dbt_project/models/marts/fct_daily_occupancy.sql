-- Grain: hotel x room_type x date, every day of the hotel's calendar (int_hotel_calendar),
-- zero-filled. Room types are those of the inventory plus any type occupied by a booking.
-- Hotel-level figures: sum rooms_available, rooms_sold and room_revenue over room types,
-- then occupancy = sum(rooms_sold) / sum(rooms_available), adr = sum(room_revenue) /
-- sum(rooms_sold), revpar = sum(room_revenue) / sum(rooms_available). Never average the
-- ratios. Nights after the hotel's as-of day (int_hotel_as_of) are what is on the books,
-- not what was sold: is_on_the_books tells them apart.
with room_types as (
    select hotel, room_type from {{ ref('int_room_inventory') }}
    union
    select distinct hotel, room_type from {{ ref('int_booking_nights') }}
),

grid as (
    select c.hotel, c.hotel_code, rt.room_type, c.date_day
    from {{ ref('int_hotel_calendar') }} as c
    join room_types as rt on rt.hotel = c.hotel
),

sold as (
    select
        hotel,
        room_type,
        stay_date,
        count(*) as rooms_sold,
        sum(adr) as room_revenue
    from {{ ref('int_booking_nights') }}
    group by hotel, room_type, stay_date
)

select
    g.hotel,
    g.hotel_code,
    g.room_type,
    g.date_day as date,
    {{ season('g.date_day') }} as season,
    isodow(g.date_day) in (6, 7) as is_weekend,
    g.date_day > h.as_of_date as is_on_the_books,
    coalesce(inv.rooms_available, 0) as rooms_available,
    inv.inventory_source,
    coalesce(s.rooms_sold, 0) as rooms_sold,
    coalesce(s.room_revenue, 0.0) as room_revenue,
    {{ safe_divide('coalesce(s.rooms_sold, 0)', 'inv.rooms_available') }} as occupancy,
    {{ safe_divide('s.room_revenue', 's.rooms_sold') }} as adr,
    {{ safe_divide('coalesce(s.room_revenue, 0.0)', 'inv.rooms_available') }} as revpar
from grid as g
join {{ ref('int_hotel_as_of') }} as h on h.hotel = g.hotel
left join {{ ref('int_room_inventory') }} as inv
  on inv.hotel = g.hotel
 and inv.room_type = g.room_type
left join sold as s
  on s.hotel = g.hotel
 and s.room_type = g.room_type
 and s.stay_date = g.date_day
