{% macro generate_schema_name(custom_schema_name, node) -%}
  {#- A custom schema (staging, intermediate) is used as is, not prefixed with the target
      schema; marts have none and land in the target schema (main), so analysts query them
      by bare name. -#}
  {%- if custom_schema_name is none -%}
    {{ target.schema }}
  {%- else -%}
    {{ custom_schema_name | trim }}
  {%- endif -%}
{%- endmacro %}


{% macro innsight_on_run_start() -%}
  {#- The delta plugin creates its source tables in schema `bronze` while models compile;
      creating the schema up front keeps two threads from racing to create it. -#}
  {%- if execute -%}
    create schema if not exists bronze
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}


{% macro innsight_drop_bronze_source_copies() -%}
  {#- The delta plugin copies each bronze Delta table into `bronze.<table>` while dbt runs
      (see models/staging/_sources.yml). Drop the copies at the end of every run: the staging
      tables hold the data, and the published file should not carry a second, stale copy of
      the lake. They are reloaded whenever a model compiles a source().-#}
  {%- if execute -%}
    drop schema if exists bronze cascade
  {%- else -%}
    select 1
  {%- endif -%}
{%- endmacro %}
