-- Contract: amount = quantity x unit_price (within 0.01).
{{ config(severity='warn') }}
select folio_line_id, quantity, unit_price, amount
from {{ ref('stg_pms_folio_lines') }}
where quantity is not null
  and unit_price is not null
  and abs(amount - quantity * unit_price) > 0.01 + 1e-9
