-- Grain: booking x service: the extras (folio lines other than room nights) a stay consumed.
select
    booking_id,
    any_value(hotel) as hotel,
    any_value(hotel_code) as hotel_code,
    any_value(guest_id) as guest_id,
    description as service,
    category,
    count(*) as lines,
    coalesce(sum(quantity), 0) as quantity,
    sum(amount) as amount
from {{ ref('stg_pms_folio_lines') }}
where category <> 'room' and booking_id is not null
group by booking_id, description, category
