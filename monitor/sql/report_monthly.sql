-- 報告: 伴走支援 sessions per month of one 年度 (April–March, every month listed) for one コンソーシアム
-- ($consortium) or the whole programme (NULL), with bank attendance.
WITH p AS (
    SELECT CAST($fy AS INTEGER) AS fy, CAST($consortium AS VARCHAR) AS consortium
),
months AS (
    SELECT CAST(m AS DATE) AS month
    FROM p, range(make_date(p.fy, 4, 1), make_date(p.fy + 1, 4, 1), INTERVAL 1 MONTH) AS r(m)
),
ses AS (
    SELECT CAST(date_trunc('month', s.date) AS DATE) AS month, s.bank_attended
    FROM sessions AS s
    JOIN engagements AS e ON e.engagement_id = s.engagement_id, p
    WHERE dx_in_report(s.fiscal_year, e.consortium, p.fy, p.consortium) AND e.support_type = '伴走支援'
),
agg AS (
    SELECT month,
           count(*)                               AS sessions,
           count(*) FILTER (WHERE bank_attended)  AS bank_sessions,
           count(bank_attended)                   AS bank_known_sessions
    FROM ses
    GROUP BY month
)
SELECT
    m.month,
    CAST(coalesce(a.sessions, 0) AS BIGINT)        AS sessions,
    CAST(coalesce(a.bank_sessions, 0) AS BIGINT)   AS bank_sessions,
    CASE WHEN a.bank_known_sessions > 0 THEN round(100.0 * a.bank_sessions / a.bank_known_sessions, 1) END
                                                   AS bank_rate_pct,
    CAST(sum(coalesce(a.sessions, 0)) OVER (ORDER BY m.month) AS BIGINT) AS cumulative_sessions
FROM months AS m
LEFT JOIN agg AS a ON a.month = m.month
ORDER BY m.month
