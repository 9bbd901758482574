-- 報告: セミナー・研修 held in one 年度 for one コンソーシアム ($consortium) or the whole programme (NULL), per kind.
WITH p AS (
    SELECT CAST($fy AS INTEGER) AS fy, CAST($consortium AS VARCHAR) AS consortium
)
SELECT
    v.kind,
    CASE WHEN v.kind LIKE '%セミナー%' THEN 'セミナー' ELSE '研修・その他' END AS category,
    count(*)                                   AS events,
    CAST(coalesce(sum(v.attendees), 0) AS BIGINT)  AS attendees,
    CAST(sum(v.companies) AS BIGINT)           AS companies,
    CAST(sum(v.applicants) AS BIGINT)          AS applicants,
    min(v.date)                                AS first_date,
    max(v.date)                                AS last_date
FROM events AS v, p
WHERE dx_in_report(v.fiscal_year, v.consortium, p.fy, p.consortium)
GROUP BY v.kind
ORDER BY
    CASE v.kind WHEN 'DX気づきセミナー' THEN 1 WHEN 'DXセミナー1' THEN 2 WHEN 'DXセミナー2' THEN 3
                WHEN '職員研修' THEN 5 WHEN '基礎研修' THEN 6 WHEN '相談会' THEN 7
                ELSE CASE WHEN v.kind LIKE '%セミナー%' THEN 4 ELSE 8 END END,
    v.kind
