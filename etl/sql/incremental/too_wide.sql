-- True when the touched keys (scopes.sql) are more than $share of the engagements, consultations or days held:
-- then rebuilding every mart is cheaper than updating them (etl/marts.py INCREMENTAL_MAX_SHARE).
WITH held AS (
    SELECT
        (SELECT count(*) FROM engagements)                      AS engagements,
        (SELECT count(*) FROM consultations)                    AS consultations,
        (SELECT count(DISTINCT date) FROM mart_daily_activity)  AS dates
),
touched AS (
    SELECT
        (SELECT count(*) FROM scope_engagements)   AS engagements,
        (SELECT count(*) FROM scope_consultations) AS consultations,
        (SELECT count(*) FROM scope_dates)         AS dates
),
final AS (
    SELECT t.engagements > $share * h.engagements
        OR t.consultations > $share * h.consultations
        OR t.dates > $share * h.dates AS too_wide
    FROM held AS h, touched AS t
)
SELECT * FROM final
