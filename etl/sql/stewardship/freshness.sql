-- Freshness and completeness per ITC group (what DHIS2 calls reporting rates), read from a dashboard database.
-- A record's group: its consortium (a session's and a linked consultation's: the engagement's), else the one
-- consortium whose home prefecture (mart_consortia) is the record's prefecture, else the prefecture itself.
-- Parameters: $as_of (DATE: the month up to which the fiscal year counts), $today (DATE), $stale_days (INTEGER).
--   last_upload      latest load that brought records of the group (load_groups ⋈ load_history)
--   latest_record    latest session / consultation / event date or engagement start of the group
--   missing_months   months of as_of's fiscal year, April up to as_of's month, in which the group had 伴走支援
--                    engagements 実施中 running (start ≤ month end, end blank or ≥ month start) and none of them
--                    has a session dated in that month
--   no_stage …       sessions of that fiscal year without 段階 (blank or matching none of the seven), without
--                    金融機関同行 (blank), without 所要時間; consultations without a mapped theme
--   stale            nothing new (last upload, else latest record) for more than $stale_days days before $today
WITH params AS (
    SELECT CAST($as_of AS DATE) AS as_of, CAST($today AS DATE) AS today, CAST($stale_days AS INTEGER) AS stale_days,
           CAST(year(CAST($as_of AS DATE)) - CASE WHEN month(CAST($as_of AS DATE)) < 4 THEN 1 ELSE 0 END AS INTEGER) AS fy
),
home AS (
    SELECT prefecture, any_value(consortium) AS consortium
    FROM mart_consortia WHERE prefecture IS NOT NULL
    GROUP BY prefecture HAVING count(*) = 1
),
eng AS (
    SELECT e.*, coalesce(e.consortium, h.consortium, e.prefecture) AS grp
    FROM engagements e LEFT JOIN home h ON h.prefecture = e.prefecture
),
ses AS (
    SELECT s.*, eng.grp FROM sessions s JOIN eng USING (engagement_id)
),
cons AS (
    SELECT c.*, coalesce(eng.grp, h.consortium, c.prefecture) AS grp
    FROM consultations c
    LEFT JOIN eng ON eng.engagement_id = c.engagement_id
    LEFT JOIN home h ON h.prefecture = c.prefecture
),
evt AS (
    SELECT ev.*, coalesce(ev.consortium, h.consortium, ev.prefecture, '（地域なし）') AS grp
    FROM events ev LEFT JOIN home h ON h.prefecture = ev.prefecture
),
uploads AS (
    SELECT coalesce(g.consortium, h.consortium, g.prefecture, '（地域なし）') AS grp, max(l.loaded_at) AS last_upload
    FROM {load_groups} g
    JOIN (SELECT load_id, max(loaded_at) AS loaded_at FROM load_history GROUP BY load_id) l USING (load_id)
    LEFT JOIN home h ON h.prefecture = g.prefecture
    WHERE g.kind <> 'targets'
    GROUP BY ALL
),
latest AS (
    SELECT grp, max(d) AS latest_record FROM (
        SELECT grp, date AS d FROM ses UNION ALL SELECT grp, date FROM cons
        UNION ALL SELECT grp, date FROM evt UNION ALL SELECT grp, start_date FROM eng)
    GROUP BY grp
),
months AS (
    SELECT CAST(m AS DATE) AS month_start, CAST(m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS DATE) AS month_end
    FROM params, generate_series(CAST(make_date(fy, 4, 1) AS TIMESTAMP),
                                 CAST(date_trunc('month', as_of) AS TIMESTAMP), INTERVAL 1 MONTH) AS t(m)
),
active AS (
    SELECT e.grp, e.engagement_id, m.month_start
    FROM eng e JOIN months m
      ON (e.start_date IS NULL OR e.start_date <= m.month_end) AND (e.end_date IS NULL OR e.end_date >= m.month_start)
    WHERE e.status = '実施中' AND e.support_type = '伴走支援'
),
session_months AS (
    SELECT DISTINCT engagement_id, CAST(date_trunc('month', date) AS DATE) AS month_start FROM sessions
),
missing AS (
    SELECT a.grp, a.month_start
    FROM active a
    LEFT JOIN session_months sm ON sm.engagement_id = a.engagement_id AND sm.month_start = a.month_start
    GROUP BY a.grp, a.month_start
    HAVING count(sm.engagement_id) = 0
),
missing_by_group AS (
    SELECT grp, count(*) AS missing_months,
           string_agg(CAST(month(month_start) AS VARCHAR) || '月', '、' ORDER BY month_start) AS missing_month_names
    FROM missing GROUP BY grp
),
ses_fy AS (
    SELECT grp, count(*) AS sessions,
           count(*) FILTER (WHERE stage_no IS NULL) AS no_stage,
           count(*) FILTER (WHERE bank_attended IS NULL) AS no_bank,
           count(*) FILTER (WHERE duration_min IS NULL) AS no_duration
    FROM ses, params WHERE ses.fiscal_year = params.fy GROUP BY grp
),
cons_fy AS (
    SELECT grp, count(*) AS consultations, count(*) FILTER (WHERE theme IS NULL) AS no_theme
    FROM cons, params WHERE cons.fiscal_year = params.fy GROUP BY grp
),
groups AS (
    SELECT grp FROM eng UNION SELECT grp FROM cons UNION SELECT grp FROM evt UNION SELECT grp FROM uploads
)
SELECT
    g.grp AS group_name,
    coalesce(mc.prefecture, (SELECT p.prefecture FROM prefectures p WHERE p.prefecture = g.grp)) AS prefecture,
    u.last_upload,
    l.latest_record,
    (SELECT today FROM params) - CAST(coalesce(u.last_upload, l.latest_record) AS DATE) AS days_since,
    coalesce((SELECT today FROM params) - CAST(coalesce(u.last_upload, l.latest_record) AS DATE)
             > (SELECT stale_days FROM params), true) AS stale,
    coalesce(m.missing_months, 0) AS missing_months,
    coalesce(m.missing_month_names, '') AS missing_month_names,
    coalesce(s.sessions, 0) AS sessions,
    coalesce(s.no_stage, 0) AS no_stage,
    coalesce(s.no_bank, 0) AS no_bank,
    coalesce(s.no_duration, 0) AS no_duration,
    coalesce(c.consultations, 0) AS consultations,
    coalesce(c.no_theme, 0) AS no_theme,
    (SELECT fy FROM params) AS fiscal_year
FROM groups g
LEFT JOIN mart_consortia mc ON mc.consortium = g.grp
LEFT JOIN uploads u USING (grp)
LEFT JOIN latest l USING (grp)
LEFT JOIN missing_by_group m USING (grp)
LEFT JOIN ses_fy s USING (grp)
LEFT JOIN cons_fy c USING (grp)
WHERE g.grp IS NOT NULL
ORDER BY mc.list_order NULLS LAST, g.grp
