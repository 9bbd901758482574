-- 報告: the 事業名 of one 年度's engagements for one コンソーシアム ($consortium) or the whole programme (NULL), most
-- engagements first (the PDF's running header names the first and counts the rest).
WITH p AS (
    SELECT CAST($fy AS INTEGER) AS fy, CAST($consortium AS VARCHAR) AS consortium
),
named AS (
    SELECT trim(m.programme) AS programme
    FROM mart_engagement_progress AS m, p
    WHERE dx_in_report(m.fiscal_year, m.consortium, p.fy, p.consortium)
      AND nullif(trim(m.programme), '') IS NOT NULL
),
final AS (
    SELECT programme, CAST(count(*) AS BIGINT) AS engagements
    FROM named
    GROUP BY programme
)
SELECT programme, engagements FROM final ORDER BY engagements DESC, programme
