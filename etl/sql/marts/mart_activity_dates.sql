-- The latest date of activity that took place, per prefecture: sessions (by their engagement's prefecture),
-- consultations and events dated on or before the database's as-of date (meta data_as_of). Under a prefecture
-- restriction the read side takes the latest of the visible prefectures as the as-of date of that scope
-- (data/reference/indicators.csv データ基準日). Records without a prefecture have the row prefecture NULL.
WITH as_of AS (
    SELECT coalesce((SELECT try_cast(value AS DATE) FROM meta WHERE key = 'data_as_of'), current_date) AS as_of_date
),
dated AS (
    SELECT e.prefecture, s.date
    FROM sessions AS s
    JOIN engagements AS e ON e.engagement_id = s.engagement_id
    UNION ALL
    SELECT prefecture, date FROM consultations
    UNION ALL
    SELECT prefecture, date FROM events
),
final AS (
    SELECT d.prefecture, max(d.date) AS last_activity_date
    FROM dated AS d, as_of AS a
    WHERE d.date <= a.as_of_date
    GROUP BY d.prefecture
)
SELECT * FROM final
