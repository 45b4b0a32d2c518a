-- One row per guest with bookings: counts, nights, room revenue and stay dates of the
-- guest's bookings (stays = not cancelled). Read by dim_guests and fct_guest_value.
-- Bookings without guest_id (the whole real extract) are attributed to no guest.
select
    guest_id,
    count(*) as bookings,
    count(*) filter (where not is_canceled) as stays,
    count(*) filter (where is_canceled) as cancellations,
    coalesce(sum(nights) filter (where not is_canceled), 0) as nights,
    coalesce(sum(room_revenue) filter (where not is_canceled), 0.0) as room_revenue,
    min(arrival_date) filter (where not is_canceled) as first_stay_date,
    max(arrival_date) filter (where not is_canceled) as last_stay_date,
    max(booking_date) as last_booking_date
from {{ ref('stg_pms_bookings') }}
where guest_id is not null
group by guest_id
