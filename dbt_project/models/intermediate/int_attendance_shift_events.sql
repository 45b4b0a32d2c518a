-- One row per shift with the attendance events matched to it.
--   check-in : the first check_in of the employee within
--              [start_at - attendance_early_window_minutes, end_at]
--              (never before the end of the employee's previous shift);
--   check-out: the last check_out within
--              [check-in (or start_at), end_at + attendance_late_checkout_window_minutes]
--              (never after the start of the employee's next shift).
-- Events below attendance_min_confidence are ignored.
with events as (
    select *
    from {{ ref('stg_attendance_events') }}
    where confidence >= {{ var('attendance_min_confidence') }}
       or confidence is null
),

shifts as (
    select
        *,
        lag(end_at) over (partition by employee_id order by start_at, shift_id) as prev_end_at,
        lead(start_at) over (partition by employee_id order by start_at, shift_id) as next_start_at
    from {{ ref('stg_shifts') }}
),

windows as (
    select
        *,
        greatest(
            start_at - to_minutes(cast({{ var('attendance_early_window_minutes') }} as bigint)),
            coalesce(prev_end_at, start_at - to_minutes(cast({{ var('attendance_early_window_minutes') }} as bigint)))
        ) as check_in_from,
        least(
            end_at + to_minutes(cast({{ var('attendance_late_checkout_window_minutes') }} as bigint)),
            coalesce(next_start_at, end_at + to_minutes(cast({{ var('attendance_late_checkout_window_minutes') }} as bigint)))
        ) as check_out_until
    from shifts
),

check_ins as (
    select
        w.shift_id,
        min(e.event_at) as check_in_at,
        count(*) as check_in_events
    from windows as w
    join events as e
      on e.employee_id = w.employee_id
     and e.action = 'check_in'
     and e.event_at >= w.check_in_from
     and e.event_at <= w.end_at
    group by w.shift_id
),

check_outs as (
    select
        w.shift_id,
        max(e.event_at) as check_out_at,
        count(*) as check_out_events
    from windows as w
    left join check_ins as ci on ci.shift_id = w.shift_id
    join events as e
      on e.employee_id = w.employee_id
     and e.action = 'check_out'
     and e.event_at >= coalesce(ci.check_in_at, w.start_at)
     and e.event_at <= w.check_out_until
    group by w.shift_id
)

select
    w.shift_id,
    w.employee_id,
    w.hotel,
    w.hotel_code,
    w.shift_date,
    w.start_at,
    w.end_at,
    w.scheduled_minutes,
    ci.check_in_at,
    co.check_out_at,
    coalesce(ci.check_in_events, 0) as check_in_events,
    coalesce(co.check_out_events, 0) as check_out_events,
    (select max(event_at) from {{ ref('stg_attendance_events') }}) as events_seen_until
from windows as w
left join check_ins as ci on ci.shift_id = w.shift_id
left join check_outs as co on co.shift_id = w.shift_id
