-- One row per guest. Only pseudonymised contact tokens exist in the lake.
select
    guest_id,
    name_token,
    email_token,
    phone_token,
    lower(email_domain) as email_domain,
    country,
    birth_year,
    lower(segment) as segment,
    lower(loyalty_tier) as loyalty_tier,
    created_at,
    _ingested_at
from {{ source('bronze', 'pms_guests') }}
