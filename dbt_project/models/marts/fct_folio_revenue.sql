-- Grain: hotel x service date x folio category.
select
    hotel,
    any_value(hotel_code) as hotel_code,
    service_date,
    category,
    count(*) as lines,
    count(distinct booking_id) as bookings,
    coalesce(sum(quantity), 0) as quantity,
    coalesce(sum(amount), 0.0) as amount,
    avg(amount) as avg_line_amount
from {{ ref('stg_pms_folio_lines') }}
group by hotel, service_date, category
