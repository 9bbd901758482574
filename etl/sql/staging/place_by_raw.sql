-- Each distinct raw place text (place_input.sql) with where place.sql resolved it: the staging models
-- (stg_engagements, stg_consultations, stg_events) join on the raw text.
CREATE OR REPLACE TEMP TABLE place_by_raw AS
SELECT pr.prefecture_raw, pr.municipality_raw, pr.prefecture_text, pr.municipality_text,
       place.prefecture, place.prefecture_code, place.municipality, place.municipality_code,
       place.prefecture_mismatch
FROM place_raw pr
LEFT JOIN place_resolved place
       ON place.prefecture_text IS NOT DISTINCT FROM pr.prefecture_text
      AND place.municipality_text IS NOT DISTINCT FROM pr.municipality_text;
