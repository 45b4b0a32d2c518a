-- Grain: hotel x market_segment x date, every day of the hotel's calendar for every segment
-- seen at the hotel, zero-filled. Room-nights and revenue are counted on the night of stay;
-- arrivals and cancellations on the booking's arrival date.
with bookings as (
    select *, coalesce(market_segment, 'Undefined') as segment
    from {{ ref('stg_pms_bookings') }}
),

segments as (
    select distinct hotel, segment from bookings
),

grid as (
    select c.hotel, c.hotel_code, s.segment, c.date_day
    from {{ ref('int_hotel_calendar') }} as c
    join segments as s on s.hotel = c.hotel
),

nights as (
    select
        hotel,
        coalesce(market_segment, 'Undefined') as segment,
        stay_date,
        count(*) as rooms_sold,
        sum(adr) as room_revenue
    from {{ ref('int_booking_nights') }}
    group by all
),

arrivals as (
    select
        hotel,
        segment,
        arrival_date,
        count(*) filter (where not is_canceled) as arrivals,
        count(*) filter (where is_canceled) as cancellations
    from bookings
    group by all
),

daily as (
    select
        g.hotel,
        g.hotel_code,
        g.segment as market_segment,
        g.date_day as date,
        coalesce(n.rooms_sold, 0) as rooms_sold,
        coalesce(n.room_revenue, 0.0) as room_revenue,
        {{ safe_divide('n.room_revenue', 'n.rooms_sold') }} as adr,
        coalesce(a.arrivals, 0) as arrivals,
        coalesce(a.cancellations, 0) as cancellations
    from grid as g
    left join nights as n
      on n.hotel = g.hotel and n.segment = g.segment and n.stay_date = g.date_day
    left join arrivals as a
      on a.hotel = g.hotel and a.segment = g.segment and a.arrival_date = g.date_day
)

select
    *,
    {{ safe_divide('rooms_sold', 'sum(rooms_sold) over (partition by hotel, date)') }} as room_nights_share,
    {{ safe_divide('room_revenue', 'sum(room_revenue) over (partition by hotel, date)') }} as revenue_share
from daily
