-- Occupancy of a room type must lie in [0, 1] where its inventory is known. Warn only: for
-- the two real hotels the inventory is an estimate (property master) that a later extract
-- may exceed.
{{ config(severity='warn') }}
select *
from {{ ref('fct_daily_occupancy') }}
where rooms_available > 0
  and (occupancy < 0 or occupancy > 1)
