-- The engagements in scope at one municipality ($municipality_code), for the list under the map.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
unique_names AS (
    SELECT prefecture, municipality, any_value(municipality_code) AS municipality_code
    FROM municipalities
    GROUP BY prefecture, municipality
    HAVING count(*) = 1
),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)   -- 案件数 as everywhere (indicators.csv)
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
