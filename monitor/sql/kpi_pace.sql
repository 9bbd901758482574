-- Pace of the count indicators (data/reference/indicators.csv: fy_elapsed, yoy, projection) for one 年度 ($fy):
-- this year's figure up to $cutoff (the as-of date), last year's up to the same day ($prev_cutoff) and last year's
-- whole-year figure. One row for the whole selection (is_total) and one per consortium. The rules of each indicator
-- are kpi.sql's (companies, sessions, dx_plans, seminar_attendees, consultations); 期間 is not applied (pace is
-- about the 年度).
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, NULL, NULL, $support_types, $coordinators)),
cut AS (SELECT CAST($cutoff AS DATE) AS cutoff, CAST($prev_cutoff AS DATE) AS prev_cutoff),
held AS (   -- sessions of this and last 年度 with their engagement
    SELECT s.fiscal_year, s.date, m.consortium, m.client_name, m.client_type
    FROM sessions AS s
    JOIN mart_engagement_progress AS m ON m.engagement_id = s.engagement_id, p
    WHERE s.fiscal_year IN (p.fy, p.fy - 1)
      AND dx_in_filters(NULL, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        NULL, p.prefectures, p.consortia, p.support_types, p.coordinators)
),
companies AS (
    SELECT
        grouping(h.consortium) = 1                                                                       AS is_total,
        h.consortium,
        count(DISTINCT h.client_name) FILTER (WHERE h.fiscal_year = p.fy AND h.date <= c.cutoff)         AS companies,
        count(DISTINCT h.client_name) FILTER (WHERE h.fiscal_year = p.fy - 1 AND h.date <= c.prev_cutoff) AS companies_prev_same,
        count(DISTINCT h.client_name) FILTER (WHERE h.fiscal_year = p.fy - 1)                            AS companies_prev_total
    FROM held AS h, p, cut AS c
    WHERE h.client_type = '企業'
    GROUP BY GROUPING SETS ((h.consortium), ())
),
act AS (
    SELECT a.*
    FROM mart_daily_activity AS a, p
    WHERE a.fiscal_year IN (p.fy, p.fy - 1)
      AND dx_in_filters(NULL, a.prefecture, a.consortium, a.support_type, a.coordinator,
                        NULL, p.prefectures, p.consortia, p.support_types, p.coordinators)
),
activity AS (
    SELECT
        grouping(a.consortium) = 1 AS is_total,
        a.consortium,
        sum(a.sessions) FILTER (WHERE a.fiscal_year = p.fy AND a.date <= c.cutoff)                       AS sessions,
        sum(a.sessions) FILTER (WHERE a.fiscal_year = p.fy - 1 AND a.date <= c.prev_cutoff)              AS sessions_prev_same,
        sum(a.sessions) FILTER (WHERE a.fiscal_year = p.fy - 1)                                          AS sessions_prev_total,
        sum(a.consultations) FILTER (WHERE a.fiscal_year = p.fy AND a.date <= c.cutoff)                  AS consultations,
        sum(a.consultations) FILTER (WHERE a.fiscal_year = p.fy - 1 AND a.date <= c.prev_cutoff)         AS consultations_prev_same,
        sum(a.consultations) FILTER (WHERE a.fiscal_year = p.fy - 1)                                     AS consultations_prev_total,
        sum(a.seminar_attendees) FILTER (WHERE a.fiscal_year = p.fy AND a.date <= c.cutoff)              AS seminar_attendees,
        sum(a.seminar_attendees) FILTER (WHERE a.fiscal_year = p.fy - 1 AND a.date <= c.prev_cutoff)     AS seminar_attendees_prev_same,
        sum(a.seminar_attendees) FILTER (WHERE a.fiscal_year = p.fy - 1)                                 AS seminar_attendees_prev_total
    FROM act AS a, p, cut AS c
    GROUP BY GROUPING SETS ((a.consortium), ())
),
plans AS (
    SELECT
        grouping(m.consortium) = 1 AS is_total,
        m.consortium,
        count(*) FILTER (WHERE m.fiscal_year = p.fy AND m.deliverable_date <= c.cutoff)                  AS dx_plans,
        count(*) FILTER (WHERE m.fiscal_year = p.fy - 1 AND m.deliverable_date <= c.prev_cutoff)         AS dx_plans_prev_same,
        count(*) FILTER (WHERE m.fiscal_year = p.fy - 1)                                                 AS dx_plans_prev_total
    FROM mart_engagement_progress AS m, p, cut AS c
    WHERE m.is_dx_plan AND m.fiscal_year IN (p.fy, p.fy - 1)
      AND dx_in_filters(NULL, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        NULL, p.prefectures, p.consortia, p.support_types, p.coordinators)
    GROUP BY GROUPING SETS ((m.consortium), ())
),
scopes AS (
    SELECT true AS is_total, CAST(NULL AS VARCHAR) AS consortium
    UNION SELECT false, consortium FROM companies WHERE NOT is_total
    UNION SELECT false, consortium FROM activity WHERE NOT is_total
    UNION SELECT false, consortium FROM plans WHERE NOT is_total
),
final AS (
    SELECT
        s.is_total,
        s.consortium,
        coalesce(k.companies, 0) AS companies, k.companies_prev_same, k.companies_prev_total,
        CAST(coalesce(a.sessions, 0) AS BIGINT) AS sessions,
        CAST(a.sessions_prev_same AS BIGINT) AS sessions_prev_same,
        CAST(a.sessions_prev_total AS BIGINT) AS sessions_prev_total,
        coalesce(d.dx_plans, 0) AS dx_plans, d.dx_plans_prev_same, d.dx_plans_prev_total,
        CAST(coalesce(a.seminar_attendees, 0) AS BIGINT) AS seminar_attendees,
        CAST(a.seminar_attendees_prev_same AS BIGINT) AS seminar_attendees_prev_same,
        CAST(a.seminar_attendees_prev_total AS BIGINT) AS seminar_attendees_prev_total,
        CAST(coalesce(a.consultations, 0) AS BIGINT) AS consultations,
        CAST(a.consultations_prev_same AS BIGINT) AS consultations_prev_same,
        CAST(a.consultations_prev_total AS BIGINT) AS consultations_prev_total
    FROM scopes AS s
    LEFT JOIN companies AS k ON k.is_total = s.is_total AND k.consortium IS NOT DISTINCT FROM s.consortium
    LEFT JOIN activity  AS a ON a.is_total = s.is_total AND a.consortium IS NOT DISTINCT FROM s.consortium
    LEFT JOIN plans     AS d ON d.is_total = s.is_total AND d.consortium IS NOT DISTINCT FROM s.consortium
)
SELECT f.*
FROM final AS f
LEFT JOIN mart_consortia AS mc ON mc.consortium = f.consortium
ORDER BY f.is_total DESC, f.consortium IS NULL, mc.list_order NULLS LAST, f.consortium
