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
        prefecture                AS prefecture_raw,
        municipality              AS municipality_raw,
        dx_text(department)       AS department,
        dx_text(slot)             AS slot,
        theme                     AS theme_raw,
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
    tr.theme, ctt.theme_original,
    typed.channel, typed.duration_min, typed.coordinator, typed.engagement_id, typed.summary,
    place.prefecture_text, place.municipality_text, place.prefecture_mismatch
FROM typed
-- places are resolved once per distinct raw (prefecture, municipality) pair (place_by_raw, built by the loader)
LEFT JOIN place_by_raw place
       ON place.prefecture_raw IS NOT DISTINCT FROM typed.prefecture_raw
      AND place.municipality_raw IS NOT DISTINCT FROM typed.municipality_raw
-- the theme text is parsed once per distinct raw text (consultation_theme_texts, built by the loader)
LEFT JOIN consultation_theme_texts ctt ON ctt.theme_raw = typed.theme_raw
LEFT JOIN theme_resolved tr ON tr.item = ctt.theme_original AND tr.audience = '自治体';
