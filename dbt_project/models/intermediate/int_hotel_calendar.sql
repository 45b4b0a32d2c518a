-- One row per hotel x calendar day over the hotel's booking date range: from its first
-- arrival to its last occupied night (or last arrival), cancelled bookings included, so
-- that stays, arrivals and cancellations all fall inside the calendar.
with bounds as (
    select
        hotel,
        any_value(hotel_code) as hotel_code,
        min(arrival_date) as first_date,
        max(greatest(arrival_date, departure_date - 1)) as last_date
    from {{ ref('stg_pms_bookings') }}
    where arrival_date is not null
    group by hotel
)

select
    b.hotel,
    b.hotel_code,
    s.date_day
from bounds as b,
    lateral {{ date_spine('b.first_date', 'b.last_date') }} as s
