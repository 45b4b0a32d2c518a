{#- Generic tests written here because dbt hub packages (dbt_utils) are not available. -#}

{% test unique_combination_of_columns(model, combination_of_columns) %}
  {#- Fails with one row per duplicated combination of the given columns (the grain). -#}
  select {{ combination_of_columns | join(', ') }}, count(*) as n_rows
  from {{ model }}
  group by {{ combination_of_columns | join(', ') }}
  having count(*) > 1
{% endtest %}


{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
  {#- Fails with the rows whose value lies outside [min_value, max_value]; nulls pass. -#}
  select *
  from {{ model }}
  where {{ column_name }} is not null
    and (
      false
      {%- if min_value is not none %}
      or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
      {%- endif %}
      {%- if max_value is not none %}
      or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
      {%- endif %}
    )
{% endtest %}


{% test expression_is_true(model, expression, column_name=none) %}
  {#- Fails with the rows where the boolean SQL expression is false. -#}
  select *
  from {{ model }}
  where not ({{ expression }})
{% endtest %}
