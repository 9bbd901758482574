-- staging: targets (目標値) — typed values; a blank consortium means the whole programme ('').
WITH src AS (
    SELECT * FROM raw_targets
)
SELECT
    _src, _row,
    dx_fiscal_year(fiscal_year)        AS fiscal_year,
    coalesce(dx_text(consortium), '')  AS consortium,
    dx_text(indicator)                 AS indicator,
    dx_number(target)                  AS target
FROM src;
