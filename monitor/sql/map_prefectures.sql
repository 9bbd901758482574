-- One row per prefecture (all 47, in code order) for the 地図 page's national view: engagements (案件数; an
-- engagement is in a 期間 it overlaps, as on the other pages), 伴走支援 sessions (伴走支援 実施回数) and consultations
-- (相談件数) dated in scope, counted by the record's prefecture — records without a municipality count too.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
eng AS (
    SELECT m.prefecture, count(*) AS engagements
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)   -- 案件数 as everywhere (indicators.csv)
    GROUP BY 1
),
act AS (
    SELECT a.prefecture, sum(a.sessions) AS sessions, sum(a.consultations) AS consultations
    FROM mart_map_activity AS a, p
    WHERE dx_in_filters(a.fiscal_year, a.prefecture, a.consortium, a.support_type, a.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(a.date, p.date_from, p.date_to)
    GROUP BY 1
)
SELECT
    r.prefecture_code,
    r.prefecture,
    CAST(coalesce(e.engagements, 0) AS BIGINT)    AS engagements,
    CAST(coalesce(a.sessions, 0) AS BIGINT)       AS sessions,
    CAST(coalesce(a.consultations, 0) AS BIGINT)  AS consultations
FROM prefectures AS r
LEFT JOIN eng AS e ON e.prefecture = r.prefecture
LEFT JOIN act AS a ON a.prefecture = r.prefecture
ORDER BY r.prefecture_code
