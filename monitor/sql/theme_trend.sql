-- Theme counts per period: $grain = 'month' (period = first day of the month) or 'quarter' (period = first day of
-- the quarter; quarters of the 年度: Apr–Jun = 第1四半期). Counted as in theme_counts.
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
    CASE WHEN CAST($grain AS VARCHAR) = 'quarter'
         THEN CAST(date_trunc('quarter', date) AS DATE)
         ELSE CAST(date_trunc('month', date) AS DATE) END AS period,
    theme,
    min(theme_sort_order)                            AS theme_sort_order,
    count(*)                                         AS records,
    count(*) FILTER (WHERE source = '相談記録')      AS consultations,
    count(*) FILTER (WHERE source = '伴走記録')      AS sessions
FROM rec
GROUP BY ALL
ORDER BY period, theme_sort_order, theme
