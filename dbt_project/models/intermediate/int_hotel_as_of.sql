-- One row per hotel: the day its data is current as of, the newest booking or status
-- change its PMS exports hold. Before it, stays and outcomes are facts; after it, what the
-- marts hold is on the books. The one definition of that day (dim_hotel_as_of publishes it).
select
    hotel,
    any_value(hotel_code) as hotel_code,
    min(arrival_date) as first_arrival,
    greatest(max(booking_date), max(reservation_status_date)) as as_of_date
from {{ ref('stg_pms_bookings') }}
group by hotel
