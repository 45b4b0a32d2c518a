-- Grain: employee x shift (one row per planned shift), with the check-in / check-out
-- matched to it (int_attendance_shift_events). Lateness = check-in after the shift start;
-- late beyond var('attendance_grace_minutes'). A shift without check-in is absent once the
-- attendance feed has events past the shift's end, `pending` before that.
with s as (
    select * from {{ ref('int_attendance_shift_events') }}
),

measured as (
    select
        s.*,
        e.department,
        e.role,
        case when s.check_in_at is not null
             then greatest(0.0, (epoch(s.check_in_at) - epoch(s.start_at)) / 60.0) end as minutes_late,
        case when s.check_out_at is not null
             then greatest(0.0, (epoch(s.end_at) - epoch(s.check_out_at)) / 60.0) end as minutes_left_early,
        case when s.check_in_at is not null and s.check_out_at is not null
             then (epoch(s.check_out_at) - epoch(s.check_in_at)) / 60.0 end as worked_minutes,
        s.check_in_at is null
            and (s.events_seen_until is null or s.events_seen_until < s.end_at) as is_pending
    from s
    left join {{ ref('stg_employees') }} as e on e.employee_id = s.employee_id
)

select
    shift_id,
    employee_id,
    hotel,
    hotel_code,
    department,
    role,
    shift_date,
    start_at,
    end_at,
    scheduled_minutes,
    check_in_at,
    check_out_at,
    round(minutes_late, 2) as minutes_late,
    coalesce(minutes_late > {{ var('attendance_grace_minutes') }}, false) as is_late,
    check_in_at is null and not is_pending as is_absent,
    check_in_at is not null and check_out_at is null as is_missing_check_out,
    round(minutes_left_early, 2) as minutes_left_early,
    round(worked_minutes, 2) as worked_minutes,
    case
        when check_in_at is null and is_pending then 'pending'
        when check_in_at is null then 'absent'
        when minutes_late > {{ var('attendance_grace_minutes') }} then 'late'
        else 'on_time'
    end as attendance_status,
    check_in_events,
    check_out_events
from measured
