-- One row per guest of the guest master: value and RFM (recency, frequency, monetary).
-- Room revenue comes from bookings (adr x nights of stays); folio lines add the ancillary
-- categories (fnb, spa, minibar). Folio `room` lines are shown but not added to monetary,
-- which would count the room twice.
{%- set as_of = var('guest_value_as_of_date') %}
with bookings as (
    select * from {{ ref('int_guest_booking_history') }}
),

folio as (
    select
        coalesce(f.guest_id, b.guest_id) as guest_id,
        coalesce(sum(f.amount) filter (where f.category = 'room'), 0.0) as folio_room_amount,
        coalesce(sum(f.amount) filter (where f.category = 'fnb'), 0.0) as folio_fnb_amount,
        coalesce(sum(f.amount) filter (where f.category = 'spa'), 0.0) as folio_spa_amount,
        coalesce(sum(f.amount) filter (where f.category = 'minibar'), 0.0) as folio_minibar_amount
    from {{ ref('stg_pms_folio_lines') }} as f
    left join {{ ref('stg_pms_bookings') }} as b on b.booking_id = f.booking_id
    where coalesce(f.guest_id, b.guest_id) is not null
    group by 1
),

as_of as (
    select
    {%- if as_of %}
        cast('{{ as_of }}' as date) as as_of_date
    {%- else %}
        -- the day the data is current as of: its newest booking or status change
        greatest(max(booking_date), max(reservation_status_date)) as as_of_date
    from {{ ref('stg_pms_bookings') }}
    {%- endif %}
),

value as (
    select
        g.guest_id,
        g.segment,
        g.loyalty_tier,
        g.country,
        coalesce(b.bookings, 0) as bookings,
        coalesce(b.stays, 0) as stays,
        coalesce(b.cancellations, 0) as cancellations,
        coalesce(b.nights, 0) as nights,
        coalesce(b.room_revenue, 0.0) as room_revenue,
        coalesce(f.folio_room_amount, 0.0) as folio_room_amount,
        coalesce(f.folio_fnb_amount, 0.0) as folio_fnb_amount,
        coalesce(f.folio_spa_amount, 0.0) as folio_spa_amount,
        coalesce(f.folio_minibar_amount, 0.0) as folio_minibar_amount,
        coalesce(f.folio_fnb_amount, 0.0) + coalesce(f.folio_spa_amount, 0.0)
            + coalesce(f.folio_minibar_amount, 0.0) as ancillary_revenue,
        b.first_stay_date,
        b.last_stay_date,
        a.as_of_date,
        case when b.last_stay_date is not null
             then greatest(date_diff('day', b.last_stay_date, a.as_of_date), 0) end as recency_days
    from {{ ref('stg_pms_guests') }} as g
    left join bookings as b on b.guest_id = g.guest_id
    left join folio as f on f.guest_id = g.guest_id
    cross join as_of as a
)

select
    *,
    stays as frequency,
    room_revenue + ancillary_revenue as monetary,
    {{ safe_divide('room_revenue + ancillary_revenue', 'stays') }} as avg_spend_per_stay,
    {{ safe_divide('room_revenue + ancillary_revenue', 'nights') }} as avg_spend_per_night,
    case when stays > 0 then ntile(5) over (partition by stays > 0 order by recency_days desc, guest_id) end as r_score,
    case when stays > 0 then ntile(5) over (partition by stays > 0 order by stays, guest_id) end as f_score,
    case when stays > 0 then ntile(5) over (partition by stays > 0 order by room_revenue + ancillary_revenue, guest_id) end as m_score
from value
