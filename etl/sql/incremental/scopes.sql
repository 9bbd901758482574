-- The keys whose mart rows an incremental update (etl/marts.py update_marts) deletes and builds again, from what the
-- load touched: batch_keys_<kind> (the keys of the records it added, changed or withdrew; re-sent identical rows are
-- not in them) and batch_dates (the dates those records had before and have now). Runs after the records are written,
-- in the target database. One temp table per grain of etl/marts.py MART_SCOPE.

-- mart_engagement_progress: an engagement's row follows the engagement and its sessions
CREATE OR REPLACE TEMP TABLE scope_engagements AS
WITH touched AS (
    SELECT engagement_id FROM batch_keys_engagements
    UNION
    SELECT engagement_id FROM batch_keys_sessions
),
final AS (
    SELECT DISTINCT engagement_id FROM touched WHERE engagement_id IS NOT NULL
)
SELECT * FROM final;

-- mart_consultations: a consultation's row follows the consultation and the engagement it is linked to
CREATE OR REPLACE TEMP TABLE scope_consultations AS
WITH touched AS (
    SELECT consultation_id FROM batch_keys_consultations
    UNION
    SELECT c.consultation_id
    FROM consultations AS c
    SEMI JOIN batch_keys_engagements AS k ON k.engagement_id = c.engagement_id
),
final AS (
    SELECT DISTINCT consultation_id FROM touched WHERE consultation_id IS NOT NULL
)
SELECT * FROM final;

-- the marts by day (daily activity, map, theme records): a day's rows follow the sessions, consultations and events
-- of that day, and the engagements those sessions and consultations belong to
CREATE OR REPLACE TEMP TABLE scope_dates AS
WITH touched AS (
    SELECT date FROM batch_dates
    UNION
    SELECT s.date
    FROM sessions AS s
    SEMI JOIN batch_keys_engagements AS k ON k.engagement_id = s.engagement_id
    UNION
    SELECT c.date
    FROM consultations AS c
    SEMI JOIN scope_consultations AS k ON k.consultation_id = c.consultation_id
),
final AS (
    SELECT DISTINCT date FROM touched WHERE date IS NOT NULL
)
SELECT * FROM final;
