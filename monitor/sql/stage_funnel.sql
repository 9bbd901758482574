-- Stage funnel per consortium: how many engagements in scope have reached each 伴走支援 stage
-- (reached = their highest stage so far is this stage or a later one). Engagements with no staged session are left
-- out; consortium NULL = outside any consortium.
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types
),
eng AS (   -- engagements in scope; an engagement is in a 期間 it overlaps
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE (p.fy IS NULL OR m.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, m.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, m.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, m.support_type))
      AND (p.date_to IS NULL OR m.span_start <= p.date_to)   -- not started (no date) = in no period
      AND (p.date_from IS NULL OR m.span_end >= p.date_from)
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
GROUP BY ALL
ORDER BY g.consortium NULLS LAST, g.stage_no
