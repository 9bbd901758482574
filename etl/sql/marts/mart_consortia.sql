-- One row per consortium named in the reference list or the records, with its home prefecture: the reference list's
-- prefecture (consortia.csv), else the one where most of its engagements are. list_order lists consortia by the home
-- prefecture's code (北海道 … 沖縄), as Japanese lists are, then by name; the read queries order by it.
WITH named AS (
    SELECT consortium FROM consortia
    UNION SELECT consortium FROM engagements WHERE consortium IS NOT NULL
    UNION SELECT consortium FROM events WHERE consortium IS NOT NULL
    UNION SELECT consortium FROM targets WHERE consortium IS NOT NULL AND consortium <> ''
),
by_engagements AS (
    SELECT consortium, mode(prefecture_code ORDER BY prefecture_code) AS prefecture_code
    FROM engagements
    WHERE consortium IS NOT NULL AND prefecture_code IS NOT NULL
    GROUP BY consortium
),
homes AS (
    SELECT n.consortium, coalesce(r.prefecture_code, e.prefecture_code) AS prefecture_code
    FROM named AS n
    LEFT JOIN consortia AS k ON k.consortium = n.consortium
    LEFT JOIN prefectures AS r ON r.prefecture = k.prefecture
    LEFT JOIN by_engagements AS e ON e.consortium = n.consortium
)
SELECT
    h.consortium,
    h.prefecture_code,
    p.prefecture,
    CAST(row_number() OVER (ORDER BY h.prefecture_code NULLS LAST, h.consortium) AS INTEGER) AS list_order
FROM homes AS h
LEFT JOIN prefectures AS p ON p.prefecture_code = h.prefecture_code
