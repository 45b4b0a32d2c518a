-- rooms_sold <= rooms_available for every hotel x room type x night. A room type that is
-- occupied but missing from the inventory (rooms_available 0) shows up here too. Warn
-- only: the real hotels' inventory is an estimate.
{{ config(severity='warn') }}
select hotel, room_type, date, rooms_sold, rooms_available, inventory_source
from {{ ref('fct_daily_occupancy') }}
where rooms_sold > rooms_available
