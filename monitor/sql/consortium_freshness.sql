-- The latest activity (伴走記録・相談・イベント) per consortium in scope, for 概要's alerts and `etl alerts`: a group
-- whose latest record is older than DX_STALE_DAYS before the as-of date has sent nothing new. Activity dated after
-- $cutoff (the as-of date) is left out; records outside any consortium have consortium NULL.
WITH p AS (FROM dx_filter_params(NULL, $prefectures, $consortia, NULL, NULL, $support_types, $coordinators)),
act AS (
    SELECT a.consortium, max(a.date) AS last_activity_date
    FROM mart_daily_activity AS a, p
    WHERE dx_in_filters(NULL, a.prefecture, a.consortium, a.support_type, a.coordinator,
                        NULL, p.prefectures, p.consortia, p.support_types, p.coordinators)
      AND a.date <= CAST($cutoff AS DATE)
    GROUP BY a.consortium
)
SELECT a.consortium, a.last_activity_date
FROM act AS a
LEFT JOIN mart_consortia AS mc ON mc.consortium = a.consortium
WHERE a.consortium IS NOT NULL
ORDER BY mc.list_order NULLS LAST, a.consortium
