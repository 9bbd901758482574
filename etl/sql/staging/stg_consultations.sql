-- staging: consultations (相談記録) — typed values; theme mapped; key derived when no 相談ID is given.
WITH src AS (
    SELECT * FROM raw_consultations
),
typed AS (
    SELECT
        _src, _row,
        dx_text(consultation_id)  AS consultation_id_given,
        dx_date(date)             AS date,
        dx_text(client_name)      AS client_name,
        dx_text(prefecture)       AS prefecture_text,
        dx_text(municipality)     AS municipality_text,
        dx_text(department)       AS department,
        dx_text(slot)             AS slot,
        dx_text(theme)            AS theme_original,
        dx_text(channel)          AS channel,
        dx_minutes(duration_min)  AS duration_min,
        dx_text(coordinator)      AS coordinator,
        dx_text(engagement_id)    AS engagement_id,
        nullif(trim(summary), '') AS summary
    FROM src
)
SELECT
    typed._src, typed._row,
    coalesce(typed.consultation_id_given,
             -- records.md: without 相談ID the key is (date, client_name, department, slot)
             concat_ws('|', strftime(typed.date, '%Y-%m-%d'), typed.client_name,
                       coalesce(typed.department, ''), coalesce(typed.slot, ''))) AS consultation_id,
    typed.date, dx_fiscal_year_of(typed.date) AS fiscal_year,
    typed.client_name,
    place.prefecture, place.prefecture_code, place.municipality, place.municipality_code,
    typed.department, typed.slot,
    tr.theme, typed.theme_original,
    typed.channel, typed.duration_min, typed.coordinator, typed.engagement_id, typed.summary,
    typed.prefecture_text, typed.municipality_text, place.prefecture_mismatch
FROM typed
LEFT JOIN place_resolved place
       ON coalesce(place.prefecture_text, '') = coalesce(typed.prefecture_text, '')
      AND coalesce(place.municipality_text, '') = coalesce(typed.municipality_text, '')
LEFT JOIN theme_resolved tr ON tr.item = typed.theme_original AND tr.audience = '自治体';
