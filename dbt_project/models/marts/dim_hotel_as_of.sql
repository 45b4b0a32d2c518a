-- Grain: one row per hotel. The day each hotel's data is current as of (int_hotel_as_of),
-- the first and last arrival day with a known outcome, and what is still on the books
-- after it. Reports and the API say "as of" this day; the models' default as-of day is
-- yesterday, and their held-out months end at last_known_arrival.
select
    h.hotel,
    h.hotel_code,
    h.first_arrival,
    h.as_of_date,
    max(b.arrival_date) filter (where b.arrival_date <= h.as_of_date) as last_known_arrival,
    count(*) filter (where b.arrival_date > h.as_of_date and not b.is_canceled) as bookings_on_the_books,
    max(b.departure_date) filter (where b.arrival_date > h.as_of_date and not b.is_canceled) as booked_until
from {{ ref('int_hotel_as_of') }} as h
join {{ ref('stg_pms_bookings') }} as b on b.hotel = h.hotel
group by h.hotel, h.hotel_code, h.first_arrival, h.as_of_date
