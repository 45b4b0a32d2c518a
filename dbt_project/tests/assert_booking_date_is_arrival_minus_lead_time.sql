-- Contract: booking_date = arrival_date - lead_time.
{{ config(severity='warn') }}
select booking_id, booking_date, arrival_date, lead_time
from {{ ref('stg_pms_bookings') }}
where booking_date <> arrival_date - lead_time
