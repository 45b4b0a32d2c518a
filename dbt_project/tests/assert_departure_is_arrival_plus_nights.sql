-- Contract: departure_date = arrival_date + nights and nights = weekend + week nights.
select booking_id, arrival_date, nights, departure_date,
       stays_in_weekend_nights, stays_in_week_nights
from {{ ref('stg_pms_bookings') }}
where departure_date <> arrival_date + nights
   or nights <> stays_in_weekend_nights + stays_in_week_nights
