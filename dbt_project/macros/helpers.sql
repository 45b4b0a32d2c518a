{% macro date_spine(start_date, end_date) -%}
  {#- One row per day from start_date to end_date inclusive, column `date_day`. Arguments are
      SQL expressions (columns of the enclosing FROM for a lateral spine). Null or reversed
      bounds give no rows. -#}
  (select cast(unnest(generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)) as date) as date_day)
{%- endmacro %}


{% macro hotel_join(relation_alias, properties_alias='p') -%}
  {#- Join the property master: a bronze `hotel` may name the property (City Hotel) or give
      its code (CH); either matches, case-insensitively. -#}
  left join {{ ref('stg_properties') }} as {{ properties_alias }}
    on lower(trim({{ relation_alias }}.hotel)) in (lower({{ properties_alias }}.hotel_code), lower({{ properties_alias }}.hotel_name))
{%- endmacro %}


{% macro hotel_columns(relation_alias, properties_alias='p') -%}
  coalesce({{ properties_alias }}.hotel_name, {{ relation_alias }}.hotel) as hotel,
  {{ properties_alias }}.hotel_code as hotel_code
{%- endmacro %}


{% macro safe_divide(numerator, denominator) -%}
  ({{ numerator }}) / nullif({{ denominator }}, 0)
{%- endmacro %}


{% macro lead_time_bucket(lead_time) -%}
  case
    when {{ lead_time }} is null then null
    when {{ lead_time }} <= 7 then '0-7d'
    when {{ lead_time }} <= 30 then '8-30d'
    when {{ lead_time }} <= 90 then '31-90d'
    when {{ lead_time }} <= 180 then '91-180d'
    when {{ lead_time }} <= 365 then '181-365d'
    else '365d+'
  end
{%- endmacro %}


{% macro season(date_expr) -%}
  {#- Meteorological season of the northern hemisphere (all properties are north of the
      equator). -#}
  case
    when month({{ date_expr }}) in (12, 1, 2) then 'winter'
    when month({{ date_expr }}) in (3, 4, 5) then 'spring'
    when month({{ date_expr }}) in (6, 7, 8) then 'summer'
    when month({{ date_expr }}) in (9, 10, 11) then 'autumn'
  end
{%- endmacro %}
