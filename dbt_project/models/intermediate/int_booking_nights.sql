-- One row per occupied room-night of a non-cancelled booking: the night of stay_date
-- (arrival_date .. departure_date - 1). Day-use bookings (0 nights) have no row.
-- The room type is the assigned one (the room actually occupied), the reserved one if none.
select
    b.booking_id,
    b.hotel,
    b.hotel_code,
    coalesce(b.assigned_room_type, b.reserved_room_type) as room_type,
    b.reserved_room_type,
    b.market_segment,
    b.distribution_channel,
    b.customer_type,
    b.guest_id,
    b.room_number,
    n.date_day as stay_date,
    b.adr
from {{ ref('stg_pms_bookings') }} as b,
    lateral {{ date_spine('b.arrival_date', 'b.departure_date - 1') }} as n
where not b.is_canceled
  and b.nights > 0
