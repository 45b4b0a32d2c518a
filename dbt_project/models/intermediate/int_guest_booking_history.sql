-- One row per guest with bookings: counts, nights, room revenue and stay dates of the
-- guest's bookings. A stay is a booking not cancelled whose arrival day has passed as of
-- its hotel's data (int_hotel_as_of); a later one is upcoming, still on the books.
-- Read by dim_guests and fct_guest_value. Bookings without guest_id (the whole real
-- extract) are attributed to no guest.
with bookings as (
    select
        b.*,
        not b.is_canceled and b.arrival_date <= h.as_of_date as is_stay,
        not b.is_canceled and b.arrival_date > h.as_of_date as is_upcoming
    from {{ ref('stg_pms_bookings') }} as b
    join {{ ref('int_hotel_as_of') }} as h using (hotel)
    where b.guest_id is not null
)

select
    guest_id,
    count(*) as bookings,
    count(*) filter (where is_stay) as stays,
    count(*) filter (where is_canceled) as cancellations,
    count(*) filter (where is_upcoming) as upcoming_bookings,
    coalesce(sum(nights) filter (where is_stay), 0) as nights,
    coalesce(sum(room_revenue) filter (where is_stay), 0.0) as room_revenue,
    min(arrival_date) filter (where is_stay) as first_stay_date,
    max(arrival_date) filter (where is_stay) as last_stay_date,
    max(booking_date) as last_booking_date
from bookings
group by guest_id
