-- On-the-books by snapshot date: for each night of stay, how many rooms (and how much room
-- revenue) were booked as of the end of each of the days before it, up to var pace_days.
-- A booking is on the books from its booking date until the day before it was cancelled (a
-- cancelled booking's reservation_status_date is its cancellation); a no-show stays on the
-- books until its status date. Pace = this snapshot against the same snapshot a year earlier;
-- pickup = this snapshot against the previous day's.
with bookings as (
    select
        hotel,
        hotel_code,
        booking_date,
        arrival_date,
        departure_date,
        adr,
        case when is_canceled then reservation_status_date end as cancelled_on
    from {{ ref('stg_pms_bookings') }}
    where nights > 0
      and booking_date is not null
),

nights as (
    select b.*, n.date_day as stay_date
    from bookings as b,
        lateral {{ date_spine('b.arrival_date', 'b.departure_date - 1') }} as n
),

snapshots as (
    select n.hotel, n.hotel_code, n.stay_date, n.adr, s.date_day as snapshot_date
    from nights as n,
        lateral {{ date_spine(
            "greatest(n.booking_date, n.stay_date - " ~ var('pace_days') ~ ")",
            "least(n.stay_date, coalesce(n.cancelled_on - 1, n.stay_date))") }} as s
)

select
    hotel,
    hotel_code,
    snapshot_date,
    stay_date,
    datediff('day', snapshot_date, stay_date) as days_out,
    count(*) as rooms_on_the_books,
    sum(adr) as revenue_on_the_books
from snapshots
group by all
