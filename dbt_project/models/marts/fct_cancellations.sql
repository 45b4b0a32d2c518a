-- Grain: hotel x reserved room type x market segment x arrival date (only combinations with
-- at least one booking). Cancellations include no-shows (is_canceled).
select
    hotel,
    any_value(hotel_code) as hotel_code,
    coalesce(reserved_room_type, 'Undefined') as reserved_room_type,
    coalesce(market_segment, 'Undefined') as market_segment,
    arrival_date,
    count(*) as bookings,
    count(*) filter (where is_canceled) as cancellations,
    count(*) filter (where reservation_status = 'No-Show') as no_shows,
    count(*) filter (where is_canceled) / count(*) as cancellation_rate,
    coalesce(sum(room_revenue), 0.0) as booked_revenue,
    coalesce(sum(room_revenue) filter (where is_canceled), 0.0) as lost_revenue,
    coalesce(sum(nights) filter (where is_canceled), 0) as lost_room_nights,
    avg(lead_time) filter (where is_canceled) as avg_lead_time_cancelled
from {{ ref('stg_pms_bookings') }}
group by hotel, 3, 4, arrival_date
