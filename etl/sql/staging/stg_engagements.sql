-- staging: engagements (支援案件) — raw text → typed values; places resolved.
WITH src AS (
    SELECT * FROM raw_engagements
),
typed AS (
    SELECT
        _src, _row,
        dx_text(engagement_id)          AS engagement_id,
        dx_fiscal_year(fiscal_year)     AS fiscal_year,
        dx_text(programme)              AS programme,
        dx_text(consortium)             AS consortium,
        dx_text(support_type)           AS support_type,
        dx_text(client_name)            AS client_name,
        dx_text(client_type)            AS client_type,
        prefecture                AS prefecture_raw,
        municipality              AS municipality_raw,
        dx_text(industry)               AS industry,
        dx_text(lead_coordinator)       AS lead_coordinator,
        dx_text(bank)                   AS bank,
        dx_date(start_date)             AS start_date,
        dx_date(end_date)               AS end_date,
        dx_int(planned_sessions)        AS planned_sessions_given,
        dx_text(status)                 AS status,
        dx_text(deliverable)            AS deliverable,
        dx_date(deliverable_date)       AS deliverable_date
    FROM src
)
SELECT
    typed._src, typed._row,
    typed.engagement_id, typed.fiscal_year, typed.programme, typed.consortium, typed.support_type,
    typed.client_name, typed.client_type,
    place.prefecture, place.prefecture_code,
    place.municipality, place.municipality_code,
    typed.industry, typed.lead_coordinator, typed.bank, typed.start_date, typed.end_date,
    coalesce(typed.planned_sessions_given,
             CASE WHEN typed.support_type = '伴走支援' THEN 10 END) AS planned_sessions,
    typed.planned_sessions_given,
    typed.status, typed.deliverable, typed.deliverable_date,
    place.prefecture_text, place.municipality_text, place.prefecture_mismatch
FROM typed
-- places are resolved once per distinct raw (prefecture, municipality) pair (place_by_raw, built by the loader)
LEFT JOIN place_by_raw place
       ON place.prefecture_raw IS NOT DISTINCT FROM typed.prefecture_raw
      AND place.municipality_raw IS NOT DISTINCT FROM typed.municipality_raw;
