-- The values the sidebar filters offer (and the URL may name): kind ∈ fiscal_year, prefecture, consortium,
-- support_type, coordinator; ord orders them for display. Only values that occur in the records (or reference lists for
-- consortia and support types).
WITH years AS (
    SELECT fiscal_year FROM engagements
    UNION SELECT fiscal_year FROM sessions
    UNION SELECT fiscal_year FROM consultations
    UNION SELECT fiscal_year FROM events
),
prefs AS (
    SELECT prefecture FROM engagements
    UNION SELECT prefecture FROM consultations
    UNION SELECT prefecture FROM events WHERE prefecture IS NOT NULL
),
cons AS (
    SELECT consortium FROM consortia
    UNION SELECT consortium FROM engagements WHERE consortium IS NOT NULL
    UNION SELECT consortium FROM events WHERE consortium IS NOT NULL
),
types AS (
    SELECT support_type FROM engagements
    UNION SELECT support_type FROM mart_consultations
    UNION SELECT support_type FROM mart_daily_activity WHERE support_type IS NOT NULL
),
coordinators AS (   -- 主担当ITC of engagements, 対応ITC of consultations (the marts' coordinator column)
    SELECT lead_coordinator AS coordinator FROM engagements WHERE lead_coordinator IS NOT NULL
    UNION SELECT coordinator FROM consultations WHERE coordinator IS NOT NULL
)
SELECT 'fiscal_year' AS kind, CAST(fiscal_year AS VARCHAR) AS value, -fiscal_year AS ord FROM years
UNION ALL
SELECT 'prefecture', p.prefecture, coalesce(try_cast(r.prefecture_code AS INTEGER), 99)
FROM prefs AS p LEFT JOIN prefectures AS r ON r.prefecture = p.prefecture
UNION ALL
SELECT 'consortium', c.consortium, coalesce(mc.list_order, 100000)     -- by home prefecture (北海道 … 沖縄)
FROM cons AS c LEFT JOIN mart_consortia AS mc ON mc.consortium = c.consortium
UNION ALL
SELECT 'support_type', t.support_type, coalesce(s.sort_order, 999)
FROM types AS t LEFT JOIN support_types AS s ON s.support_type = t.support_type
UNION ALL
SELECT 'coordinator', coordinator, 0 FROM coordinators
ORDER BY kind, ord, value
