-- One row per hotel x room type of the property master: listed rooms and base (rack) rate.
select
    hotel_name as hotel,
    hotel_code,
    room_type,
    rooms,
    base_rate,
    is_real
from {{ ref('stg_property_room_types') }}
