-- Stage funnel per consortium: how many engagements in scope have reached each 伴走支援 stage
-- (reached = their highest stage so far is this stage or a later one). Engagements with no staged session are left
-- out; consortium NULL = outside any consortium.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_filters(m.fiscal_year, m.prefecture, m.consortium, m.support_type, m.lead_coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_overlaps_period(m.span_start, m.span_end, p.date_from, p.date_to)   -- not started (no date) = in no period
),
staged AS (
    SELECT consortium, current_stage_no FROM eng WHERE current_stage_no IS NOT NULL
),
home AS (   -- each consortium's home prefecture (where most of its engagements are): consortia are listed in
           -- prefecture-code order (北海道 … 沖縄), as Japanese lists are, then by name
    SELECT consortium, mode(prefecture_code ORDER BY prefecture_code) AS home_prefecture_code
    FROM mart_engagement_progress
    WHERE consortium IS NOT NULL
    GROUP BY consortium
),
grid AS (
    SELECT c.consortium, s.stage_no, s.stage
    FROM (SELECT DISTINCT consortium FROM staged) AS c
    CROSS JOIN stages AS s
)
SELECT
    g.consortium,
    g.stage_no,
    g.stage,
    count(x.current_stage_no) AS engagements
FROM grid AS g
LEFT JOIN staged AS x
    ON x.consortium IS NOT DISTINCT FROM g.consortium AND x.current_stage_no >= g.stage_no
LEFT JOIN home AS h ON h.consortium = g.consortium
GROUP BY g.consortium, g.stage_no, g.stage, h.home_prefecture_code
ORDER BY g.consortium IS NULL, h.home_prefecture_code NULLS LAST, g.consortium, g.stage_no
