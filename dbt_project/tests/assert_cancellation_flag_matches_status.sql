-- is_canceled agrees with reservation_status (Canceled / No-Show vs Check-Out).
{{ config(severity='warn') }}
select booking_id, is_canceled, reservation_status
from {{ ref('stg_pms_bookings') }}
where reservation_status is not null
  and is_canceled <> (reservation_status in ('Canceled', 'No-Show'))
