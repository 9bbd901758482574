-- 報告: the engagements counted in 支援企業数 (data/reference/indicators.csv: a session held in the 年度) of one
-- コンソーシアム ($consortium) or the whole programme (NULL): sessions held in the 年度 against planned, bank
-- attendance, the DX計画書 date. Their 予定回数 add up to the summary's 伴走支援 予定回数.
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
    m.client_type,
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
JOIN held AS h ON h.engagement_id = m.engagement_id
LEFT JOIN mart_consortia AS mc ON mc.consortium = m.consortium   -- list order: by home prefecture (北海道 … 沖縄)
WHERE (p.consortium IS NULL OR m.consortium = p.consortium)
ORDER BY m.consortium IS NULL, mc.list_order NULLS LAST, m.consortium, m.start_date NULLS LAST, m.client_name,
         m.engagement_id
