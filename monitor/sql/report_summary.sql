-- 報告: the 実績 of one 年度 for one コンソーシアム ($consortium) or the whole programme ($consortium NULL), each
-- indicator against its target (targets table). One row per indicator, in report order. Every indicator follows its
-- rule in data/reference/indicators.csv (the glossary), the same rules as 概要 (kpi.sql) with the 年度 and 対象 only:
--   seminars            セミナー開催回数
--   seminar_attendees   セミナー参加者数
--   companies           支援企業数: distinct 企業 clients of the engagements with a session held in the 年度
--   planned_sessions    伴走支援 予定回数: planned sessions of those engagements (中止 too, as recorded)
--   sessions            伴走支援 実施回数: sessions dated in the 年度
--   dx_plans            DX計画書策定数 (mart_engagement_progress.is_dx_plan)
--   bank_rate           金融機関同行率（%）
--   municipalities      支援自治体数
--   consultations       相談件数
--   training_attendees  研修受講者数
-- Targets: a consortium's own rows; for the whole programme the programme-wide row ('') of an indicator, or the
-- sum of the consortia's rows when there is none. A 金融機関同行率 target above 1 is a percentage, else a ratio.
WITH p AS (
    SELECT CAST($fy AS INTEGER) AS fy, CAST($consortium AS VARCHAR) AS consortium
),
eng AS (
    SELECT m.*
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_report(m.fiscal_year, m.consortium, p.fy, p.consortium)
),
ses AS (
    SELECT s.*
    FROM sessions AS s
    JOIN engagements AS e ON e.engagement_id = s.engagement_id, p
    WHERE dx_in_report(s.fiscal_year, e.consortium, p.fy, p.consortium)
),
held AS (   -- engagements with a session held in the 年度
    SELECT m.engagement_id, m.client_name, m.client_type, m.planned_sessions
    FROM mart_engagement_progress AS m
    WHERE m.engagement_id IN (SELECT engagement_id FROM ses)
),
ev AS (
    SELECT v.*
    FROM events AS v, p
    WHERE dx_in_report(v.fiscal_year, v.consortium, p.fy, p.consortium)
),
con AS (
    SELECT c.*
    FROM mart_consultations AS c, p
    WHERE dx_in_report(c.fiscal_year, c.consortium, p.fy, p.consortium)
),
munis AS (
    SELECT client_name FROM eng
    WHERE client_type = '自治体' AND (status IN ('実施中', '完了') OR (status IS NULL AND sessions_done > 0))
    UNION
    SELECT client_name FROM con WHERE client_type = '自治体'
),
actual AS (
    SELECT 1 AS ord, 'セミナー' AS section, 'セミナー開催回数' AS item, '回' AS unit, NULL AS indicator,
           CAST((SELECT count(*) FROM ev WHERE kind LIKE '%セミナー%') AS DOUBLE) AS actual
    UNION ALL
    SELECT 2, 'セミナー', 'セミナー参加者数', '人', 'セミナー参加者数',
           CAST((SELECT coalesce(sum(attendees), 0) FROM ev WHERE kind LIKE '%セミナー%') AS DOUBLE)
    UNION ALL
    SELECT 3, '伴走支援', '支援企業数', '社', '支援企業数',
           CAST((SELECT count(DISTINCT client_name) FROM held WHERE client_type = '企業') AS DOUBLE)
    UNION ALL
    SELECT 4, '伴走支援', '伴走支援 予定回数', '回', NULL,
           CAST((SELECT coalesce(sum(planned_sessions), 0) FROM held) AS DOUBLE)
    UNION ALL
    SELECT 5, '伴走支援', '伴走支援 実施回数', '回', '伴走回数',
           CAST((SELECT count(*) FROM ses) AS DOUBLE)
    UNION ALL
    SELECT 6, '伴走支援', 'DX計画書策定数', '件', 'DX計画書策定数',
           CAST((SELECT count(*) FROM eng
                 WHERE is_dx_plan) AS DOUBLE)
    UNION ALL
    SELECT 7, '伴走支援', '金融機関同行率', '%', '金融機関同行率',
           (SELECT round(100.0 * count(*) FILTER (WHERE bank_attended) / nullif(count(bank_attended), 0), 1)
            FROM ses)
    UNION ALL
    SELECT 8, '自治体支援', '支援自治体数', '団体', '支援自治体数',
           CAST((SELECT count(*) FROM munis) AS DOUBLE)
    UNION ALL
    SELECT 9, '自治体支援', '相談件数', '件', '相談件数',
           CAST((SELECT count(*) FROM con) AS DOUBLE)
    UNION ALL
    SELECT 10, '自治体支援', '研修受講者数', '人', '研修受講者数',
           CAST((SELECT coalesce(sum(attendees), 0) FROM ev WHERE kind IN ('職員研修', '基礎研修')) AS DOUBLE)
),
tgt AS (
    SELECT
        t.indicator,
        CASE
            WHEN p.consortium IS NOT NULL THEN max(t.target) FILTER (WHERE t.consortium = p.consortium)
            ELSE coalesce(max(t.target) FILTER (WHERE t.consortium = ''), sum(t.target) FILTER (WHERE t.consortium <> ''))
        END AS target
    FROM targets AS t, p
    WHERE t.fiscal_year = p.fy
    GROUP BY t.indicator, p.consortium
),
joined AS (
    SELECT
        a.ord, a.section, a.item, a.unit, a.actual,
        CASE
            WHEN a.indicator = '金融機関同行率' AND t.target <= 1 THEN t.target * 100
            WHEN a.indicator = '金融機関同行率' AND p.consortium IS NULL
                 AND NOT EXISTS (SELECT 1 FROM targets WHERE fiscal_year = p.fy AND consortium = ''
                                 AND indicator = '金融機関同行率')
                THEN (SELECT avg(CASE WHEN target <= 1 THEN target * 100 ELSE target END) FROM targets
                      WHERE fiscal_year = p.fy AND consortium <> '' AND indicator = '金融機関同行率')
            ELSE t.target
        END AS target
    FROM actual AS a
    CROSS JOIN p
    LEFT JOIN tgt AS t ON t.indicator = a.indicator
)
SELECT
    ord,
    section,
    item,
    unit,
    actual,
    target,
    CASE WHEN target > 0 AND actual IS NOT NULL THEN round(100.0 * actual / target, 1) END AS rate_pct
FROM joined
ORDER BY ord
