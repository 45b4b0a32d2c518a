-- One row per inspection with its negative findings: a tag is negative when its label
-- contains one of var('inspection_negative_tag_fragments') (case-insensitive) and its
-- confidence is at least var('inspection_tag_min_confidence').
{%- set fragments = var('inspection_negative_tag_fragments') %}
with tags as (
    select
        inspection_id,
        unnest(tags) as tag
    from {{ ref('stg_room_inspections') }}
),

flagged as (
    select
        inspection_id,
        tag.label as label,
        tag.confidence as confidence,
        (
            coalesce(tag.confidence, 1.0) >= {{ var('inspection_tag_min_confidence') }}
            and (
                false
                {%- for f in fragments %}
                or contains(lower(tag.label), '{{ f | lower | replace("'", "''") }}')
                {%- endfor %}
            )
        ) as is_negative
    from tags
)

select
    i.inspection_id,
    count(f.label) as tag_count,
    count(f.label) filter (where f.is_negative) as negative_tag_count,
    coalesce(list(f.label order by f.label) filter (where f.is_negative), []::varchar[]) as negative_tags
from {{ ref('stg_room_inspections') }} as i
left join flagged as f on f.inspection_id = i.inspection_id
group by i.inspection_id
