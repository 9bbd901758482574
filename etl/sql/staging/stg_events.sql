-- staging: events (セミナー・研修) — typed values; places resolved.
WITH src AS (
    SELECT * FROM raw_events
),
typed AS (
    SELECT
        _src, _row,
        dx_text(event_id)      AS event_id,
        dx_text(name)          AS name,
        dx_text(kind)          AS kind,
        dx_date(date)          AS date,
        dx_text(consortium)    AS consortium,
        prefecture                AS prefecture_raw,
        municipality              AS municipality_raw,
        dx_int(attendees)      AS attendees,
        dx_int(companies)      AS companies,
        dx_int(applicants)     AS applicants
    FROM src
)
SELECT
    typed._src, typed._row,
    typed.event_id, typed.name, typed.kind, typed.date, dx_fiscal_year_of(typed.date) AS fiscal_year,
    typed.consortium,
    place.prefecture, place.prefecture_code, place.municipality, place.municipality_code,
    typed.attendees, typed.companies, typed.applicants,
    place.prefecture_text, place.municipality_text, place.prefecture_mismatch
FROM typed
-- places are resolved once per distinct raw (prefecture, municipality) pair (place_by_raw, built by the loader)
LEFT JOIN place_by_raw place
       ON place.prefecture_raw IS NOT DISTINCT FROM typed.prefecture_raw
      AND place.municipality_raw IS NOT DISTINCT FROM typed.municipality_raw;
