-- One row per record × theme for the 相談テーマ page: consultations (相談記録, one theme each) and 伴走支援 sessions
-- (伴走記録, every distinct canonical theme of the session). A record whose theme matched no taxonomy entry keeps
-- one row with theme '未分類', so it is counted once and can be looked up. Dimensions follow the other marts:
-- a session takes its engagement's prefecture, municipality, consortium and support type; a consultation those of
-- mart_consultations (support type 相談会 when not linked to an engagement); coordinator as in mart_daily_activity.
-- Keys and dimensions only: the client name and the free text (原文, 概要・メモ) stay in the base tables and
-- monitor/sql/theme_records.sql joins them for the few hundred rows it lists. A record is identified by
-- consultation_id (相談記録) or (engagement_id, session_no) (伴走記録; consultation_id is NULL); the page's record id
-- (consultation_id, or engagement_id#session_no) is built in the query, not stored for 2.5 M rows.
WITH session_rows AS (
    SELECT
        '伴走記録'                                          AS source,
        CAST(NULL AS VARCHAR)                                AS consultation_id,
        s.engagement_id,
        s.session_no,
        s.date,
        s.fiscal_year,
        e.prefecture,
        e.prefecture_code,
        e.municipality,
        e.municipality_code,
        e.consortium,
        e.support_type,
        e.lead_coordinator                                   AS coordinator,
        list_distinct(list_filter(s.themes, lambda t: t IS NOT NULL AND t <> '')) AS theme_list
    FROM sessions AS s
    JOIN engagements AS e ON e.engagement_id = s.engagement_id
),
session_themes AS (
    -- one pass: a session without a canonical theme unnests the one-element list ['未分類']
    SELECT * EXCLUDE (theme_list),
           unnest(CASE WHEN len(theme_list) > 0 THEN theme_list ELSE ['未分類'] END) AS theme
    FROM session_rows
),
consultation_themes AS (
    SELECT
        '相談記録'                                          AS source,
        consultation_id,
        engagement_id,
        CAST(NULL AS INTEGER)                                AS session_no,
        date,
        fiscal_year,
        prefecture,
        prefecture_code,
        municipality,
        municipality_code,
        consortium,
        support_type,
        coordinator,
        coalesce(nullif(theme, ''), '未分類')                AS theme
    FROM mart_consultations
),
unioned AS (
    SELECT * FROM session_themes
    UNION ALL BY NAME
    SELECT * FROM consultation_themes
)
SELECT
    u.source,
    u.consultation_id,
    u.engagement_id,
    u.session_no,
    u.date,
    u.fiscal_year,
    u.theme,
    t.theme_id,
    coalesce(t.audience, CASE WHEN u.theme = '未分類' THEN '未分類' END) AS audience,
    coalesce(t.sort_order, 9999)                             AS theme_sort_order,
    u.prefecture,
    u.prefecture_code,
    u.municipality,
    u.municipality_code,
    u.consortium,
    u.support_type,
    u.coordinator
FROM unioned AS u
LEFT JOIN themes AS t ON t.theme = u.theme
