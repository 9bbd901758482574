-- Per scope table (scopes.sql): true when its touched keys are more than $share of the keys held. A mart with a
-- scope that is too wide is rebuilt whole, which is then cheaper than updating it (etl/marts.py
-- INCREMENTAL_MAX_SHARE); the marts of the other scopes are still updated by keys.
WITH held AS (
    SELECT 'scope_engagements' AS scope_table, (SELECT count(*) FROM engagements) AS keys
    UNION ALL
    SELECT 'scope_consultations', (SELECT count(*) FROM consultations)
    UNION ALL
    SELECT 'scope_dates', (SELECT count(DISTINCT date) FROM mart_daily_activity)
),
touched AS (
    SELECT 'scope_engagements' AS scope_table, (SELECT count(*) FROM scope_engagements) AS keys
    UNION ALL
    SELECT 'scope_consultations', (SELECT count(*) FROM scope_consultations)
    UNION ALL
    SELECT 'scope_dates', (SELECT count(*) FROM scope_dates)
),
final AS (
    SELECT t.scope_table, t.keys > $share * h.keys AS too_wide
    FROM touched AS t
    JOIN held AS h USING (scope_table)
)
SELECT * FROM final
