-- One row per guest of the guest master: pseudonymised tokens only, with booking history.
-- Bookings without guest_id (the whole real extract) are not attributed to any guest.
with history as (
    select
        guest_id,
        count(*) as bookings,
        count(*) filter (where is_canceled) as cancelled_bookings,
        count(*) filter (where not is_canceled) as stays,
        coalesce(sum(nights) filter (where not is_canceled), 0) as nights,
        coalesce(sum(room_revenue) filter (where not is_canceled), 0.0) as room_revenue,
        min(arrival_date) filter (where not is_canceled) as first_stay_date,
        max(arrival_date) filter (where not is_canceled) as last_stay_date,
        max(booking_date) as last_booking_date
    from {{ ref('stg_pms_bookings') }}
    where guest_id is not null
    group by guest_id
)

select
    g.guest_id,
    g.name_token,
    g.email_token,
    g.phone_token,
    g.email_domain,
    g.country,
    g.birth_year,
    g.segment,
    g.loyalty_tier,
    g.created_at,
    coalesce(h.bookings, 0) as bookings,
    coalesce(h.cancelled_bookings, 0) as cancelled_bookings,
    coalesce(h.stays, 0) as stays,
    coalesce(h.nights, 0) as nights,
    coalesce(h.room_revenue, 0.0) as room_revenue,
    h.first_stay_date,
    h.last_stay_date,
    h.last_booking_date
from {{ ref('stg_pms_guests') }} as g
left join history as h on h.guest_id = g.guest_id
