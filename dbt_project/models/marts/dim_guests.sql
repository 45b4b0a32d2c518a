-- One row per guest of the guest master: pseudonymised tokens only, with booking history.
-- Bookings without guest_id (the whole real extract) are not attributed to any guest.
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
    coalesce(h.cancellations, 0) as cancelled_bookings,
    coalesce(h.stays, 0) as stays,
    coalesce(h.nights, 0) as nights,
    coalesce(h.room_revenue, 0.0) as room_revenue,
    h.first_stay_date,
    h.last_stay_date,
    h.last_booking_date
from {{ ref('stg_pms_guests') }} as g
left join {{ ref('int_guest_booking_history') }} as h on h.guest_id = g.guest_id
