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
        dx_text(prefecture)    AS prefecture_text,
        dx_text(municipality)  AS municipality_text,
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
    typed.prefecture_text, typed.municipality_text, place.prefecture_mismatch
FROM typed
LEFT JOIN place_resolved place
       ON coalesce(place.prefecture_text, '') = coalesce(typed.prefecture_text, '')
      AND coalesce(place.municipality_text, '') = coalesce(typed.municipality_text, '');
