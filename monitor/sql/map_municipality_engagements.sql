-- The engagements in scope at one municipality ($municipality_code), for the list under the map.
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types
),
unique_names AS (
    SELECT prefecture, municipality, any_value(municipality_code) AS municipality_code
    FROM municipalities
    GROUP BY prefecture, municipality
    HAVING count(*) = 1
),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE (p.fy IS NULL OR m.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, m.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, m.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, m.support_type))
      AND (p.date_to IS NULL OR m.span_start IS NULL OR m.span_start <= p.date_to)
      AND (p.date_from IS NULL OR m.span_end >= p.date_from)
)
SELECT
    e.engagement_id,
    e.fiscal_year,
    e.client_name,
    e.client_type,
    e.support_type,
    e.consortium,
    e.lead_coordinator,
    e.start_date,
    e.end_date,
    e.status,
    e.sessions_done,
    e.planned_sessions,
    e.last_session_date
FROM eng AS e
LEFT JOIN unique_names AS u
    ON e.municipality_code IS NULL AND u.prefecture = e.prefecture AND u.municipality = e.municipality
WHERE coalesce(e.municipality_code, u.municipality_code) = CAST($municipality_code AS VARCHAR)
ORDER BY e.start_date DESC NULLS LAST, e.engagement_id
