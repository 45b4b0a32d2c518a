-- One row per folio line (charge on a booking's bill).
with src as (
    select * from {{ source('bronze', 'pms_folio_lines') }}
)

select
    src.folio_line_id,
    src.booking_id,
    {{ hotel_columns('src') }},
    src.guest_id,
    src.posted_at,
    coalesce(src.service_date, cast(src.posted_at as date)) as service_date,
    lower(src.category) as category,
    src.description,
    src.quantity,
    cast(src.unit_price as double) as unit_price,
    cast(src.amount as double) as amount,
    src._ingested_at
from src
{{ hotel_join('src') }}
