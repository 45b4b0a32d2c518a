-- One row per booking. Bronze is already typed and validated; this model normalises the
-- hotel to the property master (name + code) and drops lineage columns but _ingested_at.
with src as (
    select * from {{ source('bronze', 'pms_bookings') }}
)

select
    src.booking_id,
    {{ hotel_columns('src') }},
    src.guest_id,
    src.room_number,
    cast(src.is_canceled as boolean) as is_canceled,
    src.reservation_status,
    src.reservation_status_date,
    src.booking_date,
    src.arrival_date,
    src.departure_date,
    src.arrival_week,
    src.lead_time,
    src.stays_in_weekend_nights,
    src.stays_in_week_nights,
    src.nights,
    src.adults,
    src.children,
    src.babies,
    src.meal,
    src.country,
    src.market_segment,
    src.distribution_channel,
    src.customer_type,
    src.deposit_type,
    src.agent,
    src.company,
    cast(src.is_repeated_guest as boolean) as is_repeated_guest,
    src.previous_cancellations,
    src.previous_bookings_not_canceled,
    src.reserved_room_type,
    src.assigned_room_type,
    src.booking_changes,
    src.days_in_waiting_list,
    src.required_car_parking_spaces,
    src.total_of_special_requests,
    cast(src.adr as double) as adr,
    cast(src.room_revenue as double) as room_revenue,
    src._ingested_at
from src
{{ hotel_join('src') }}
