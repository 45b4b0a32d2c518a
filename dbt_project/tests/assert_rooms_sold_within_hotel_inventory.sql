-- A hotel cannot sell more rooms in a night than it has (all room types together, so room
-- types missing from the inventory are caught too). Warn only: the real hotels' inventory
-- is an estimate.
{{ config(severity='warn') }}
select hotel, date, sum(rooms_sold) as rooms_sold, sum(rooms_available) as rooms_available
from {{ ref('fct_daily_occupancy') }}
group by hotel, date
having sum(rooms_sold) > sum(rooms_available)
