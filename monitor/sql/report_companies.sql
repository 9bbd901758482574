-- 報告: the 伴走支援 engagements (companies supported) of one 年度 for one コンソーシアム ($consortium) or the whole
-- programme (NULL): sessions held in the 年度 against planned, bank attendance, the DX計画書 date.
WITH p AS (
    SELECT CAST($fy AS INTEGER) AS fy, CAST($consortium AS VARCHAR) AS consortium
),
held AS (
    SELECT
        s.engagement_id,
        count(*)                                 AS sessions,
        count(*) FILTER (WHERE s.bank_attended)  AS bank_sessions,
        count(s.bank_attended)                   AS bank_known_sessions
    FROM sessions AS s, p
    WHERE s.fiscal_year = p.fy
    GROUP BY s.engagement_id
)
SELECT
    m.engagement_id,
    m.consortium,
    m.client_name,
    m.industry,
    m.municipality,
    m.lead_coordinator,
    m.bank,
    m.start_date,
    m.end_date,
    m.status,
    m.planned_sessions,
    coalesce(h.sessions, 0)            AS sessions,
    CASE WHEN m.planned_sessions > 0 THEN round(100.0 * coalesce(h.sessions, 0) / m.planned_sessions, 1) END
                                       AS progress_pct,
    coalesce(h.bank_sessions, 0)       AS bank_sessions,
    m.current_stage,
    CASE WHEN m.is_dx_plan THEN m.deliverable_date END AS plan_date
FROM mart_engagement_progress AS m
CROSS JOIN p
LEFT JOIN held AS h ON h.engagement_id = m.engagement_id
LEFT JOIN mart_consortia AS mc ON mc.consortium = m.consortium   -- list order: by home prefecture (北海道 … 沖縄)
WHERE dx_in_report(m.fiscal_year, m.consortium, p.fy, p.consortium)
  AND m.support_type = '伴走支援'
ORDER BY m.consortium IS NULL, mc.list_order NULLS LAST, m.consortium, m.start_date NULLS LAST, m.client_name,
         m.engagement_id
