-- Grain: one row per hotel. The day each hotel's data is current as of (the newest booking
-- or status change its PMS exports hold), the first and last arrival day with a known
-- outcome, and what is still on the books after it. Reports and the API say "as of" this
-- day; the models' default as-of day is yesterday, and their held-out months end at
-- last_known_arrival.
with events as (
    select
        hotel,
        any_value(hotel_code) as hotel_code,
        min(arrival_date) as first_arrival,
        greatest(max(booking_date), max(reservation_status_date)) as as_of_date
    from {{ ref('stg_pms_bookings') }}
    group by hotel
)

select
    e.hotel,
    e.hotel_code,
    e.first_arrival,
    e.as_of_date,
    max(b.arrival_date) filter (where b.arrival_date <= e.as_of_date) as last_known_arrival,
    count(*) filter (where b.arrival_date > e.as_of_date and not b.is_canceled) as bookings_on_the_books,
    max(b.departure_date) filter (where b.arrival_date > e.as_of_date and not b.is_canceled) as booked_until
from events as e
join {{ ref('stg_pms_bookings') }} as b on b.hotel = e.hotel
group by e.hotel, e.hotel_code, e.first_arrival, e.as_of_date
