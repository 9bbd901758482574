-- 報告: consultations by theme in one 年度 for one コンソーシアム ($consortium) or the whole programme (NULL), in
-- taxonomy order; consultations whose theme could not be mapped are counted as 未分類.
WITH p AS (
    SELECT CAST($fy AS INTEGER) AS fy, CAST($consortium AS VARCHAR) AS consortium
),
con AS (
    SELECT coalesce(c.theme, '未分類') AS theme
    FROM mart_consultations AS c, p
    WHERE dx_in_report(c.fiscal_year, c.consortium, p.fy, p.consortium)
),
agg AS (
    SELECT theme, count(*) AS consultations FROM con GROUP BY theme
)
SELECT
    a.theme,
    t.audience,
    CAST(a.consultations AS BIGINT)                                       AS consultations,
    round(100.0 * a.consultations / sum(a.consultations) OVER (), 1)      AS share_pct
FROM agg AS a
LEFT JOIN themes AS t ON t.theme = a.theme
ORDER BY a.consultations DESC, coalesce(t.sort_order, 9999), a.theme
