-- True when mart_engagement_progress was built with another as-of date than the one it would be built with now (or
-- the as-of date is not stated in meta, so the mart takes the latest session): every row's 経過日数 and 停滞 may
-- change, so the mart is rebuilt whole.
WITH as_of AS (
    SELECT (SELECT try_cast(value AS DATE) FROM meta WHERE key = 'data_as_of') AS as_of_date
),
built AS (
    SELECT DISTINCT as_of_date FROM mart_engagement_progress
),
final AS (
    SELECT a.as_of_date IS NULL
        OR EXISTS (SELECT 1 FROM built AS b WHERE b.as_of_date IS DISTINCT FROM a.as_of_date) AS moved
    FROM as_of AS a
)
SELECT * FROM final
