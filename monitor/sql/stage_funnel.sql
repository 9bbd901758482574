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
LEFT JOIN mart_consortia AS mc ON mc.consortium = g.consortium   -- list order: by home prefecture (北海道 … 沖縄)
GROUP BY g.consortium, g.stage_no, g.stage, mc.list_order
ORDER BY g.consortium IS NULL, mc.list_order NULLS LAST, g.consortium, g.stage_no
