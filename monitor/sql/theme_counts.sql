-- Count and share of each theme in scope: consultations (相談記録) and 伴走支援 sessions (伴走記録); a session with
-- several themes counts once for each. share = this theme's count / all theme counts in scope (sums to 1).
-- Unmapped records appear as '未分類'.
WITH p AS (
    SELECT
        CAST($fy AS INTEGER)             AS fy,
        CAST($prefectures AS VARCHAR[])  AS prefectures,
        CAST($consortia AS VARCHAR[])    AS consortia,
        CAST($date_from AS DATE)         AS date_from,
        CAST($date_to AS DATE)           AS date_to,
        CAST($support_types AS VARCHAR[]) AS support_types
),
rec AS (   -- theme rows (record × theme) in scope: a record is in scope by its own date
    SELECT r.*
    FROM mart_theme_records AS r, p
    WHERE (p.fy IS NULL OR r.fiscal_year = p.fy)
      AND (len(p.prefectures) = 0 OR list_contains(p.prefectures, r.prefecture))
      AND (len(p.consortia) = 0 OR list_contains(p.consortia, r.consortium))
      AND (len(p.support_types) = 0 OR list_contains(p.support_types, r.support_type))
      AND (p.date_from IS NULL OR r.date >= p.date_from)
      AND (p.date_to IS NULL OR r.date <= p.date_to)
)
SELECT
    theme,
    any_value(theme_id)                              AS theme_id,
    any_value(audience)                              AS audience,
    min(theme_sort_order)                            AS theme_sort_order,
    count(*)                                         AS records,
    count(*) FILTER (WHERE source = '相談記録')      AS consultations,
    count(*) FILTER (WHERE source = '伴走記録')      AS sessions,
    count(*) / sum(count(*)) OVER ()                 AS share
FROM rec
GROUP BY theme
ORDER BY theme = '未分類', records DESC, theme_sort_order, theme
