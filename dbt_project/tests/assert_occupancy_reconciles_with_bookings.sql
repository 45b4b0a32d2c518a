-- The daily occupancy mart accounts for every room-night and every unit of room revenue of
-- the non-cancelled bookings (per hotel), so hotel totals from either mart agree.
-- (dagster-dbt attaches this check, which reads two models, to fct_daily_occupancy.)
{{ config(meta={'dagster': {'ref': {'name': 'fct_daily_occupancy'}}}) }}
with occ as (
    select hotel, sum(rooms_sold) as rooms_sold, sum(room_revenue) as room_revenue
    from {{ ref('fct_daily_occupancy') }}
    group by hotel
),

bk as (
    select hotel, sum(nights) as nights, sum(revenue_realised) as revenue
    from {{ ref('fct_bookings') }}
    where not is_canceled
    group by hotel
)

select
    coalesce(occ.hotel, bk.hotel) as hotel,
    occ.rooms_sold,
    bk.nights,
    occ.room_revenue,
    bk.revenue
from occ
full outer join bk on bk.hotel = occ.hotel
where coalesce(occ.rooms_sold, 0) <> coalesce(bk.nights, 0)
   or abs(coalesce(occ.room_revenue, 0) - coalesce(bk.revenue, 0))
      > 0.01 + 1e-6 * abs(coalesce(bk.revenue, 0))
