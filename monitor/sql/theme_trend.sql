-- Theme counts per period: $grain = 'month' (period = first day of the month) or 'quarter' (period = first day of
-- the quarter; quarters of the 年度: Apr–Jun = 第1四半期). Counted as in theme_counts.
WITH p AS (FROM dx_filter_params($fy, $prefectures, $consortia, $date_from, $date_to, $support_types, $coordinators)),
rec AS (   -- theme rows (record × theme) in scope: a record is in scope by its own date
    SELECT r.*
    FROM mart_theme_records AS r, p
    WHERE dx_in_filters(r.fiscal_year, r.prefecture, r.consortium, r.support_type, r.coordinator,
                        p.fy, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND dx_in_period(r.date, p.date_from, p.date_to)
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
