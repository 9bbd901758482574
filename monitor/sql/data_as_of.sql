-- データ基準日 (data/reference/indicators.csv as_of_date) of what this connection may see: under a prefecture
-- restriction mart_activity_dates holds only the allowed prefectures (monitor/queries.py), so this is the latest
-- activity there; without activity in scope, the database's own as-of date. Without a restriction the caller uses
-- the database's as-of date (meta data_as_of) itself, which a steward may have stated.
SELECT coalesce(
    (SELECT max(last_activity_date) FROM mart_activity_dates),
    (SELECT try_cast(value AS DATE) FROM meta WHERE key = 'data_as_of')
) AS as_of_date
