-- The distinct places of the whole batch (engagements, consultations, events), each raw text cleaned once
-- (place_raw), for place.sql (table `place_input`: prefecture_text, municipality_text).
-- One pass over the distinct places: values are parsed once per distinct raw text and the staging models join back
-- on the raw text (place_by_raw.sql), so nothing is parsed twice and no macro runs once per row.
CREATE OR REPLACE TEMP TABLE place_raw AS
SELECT prefecture_raw, municipality_raw,
       dx_text(prefecture_raw) AS prefecture_text, dx_text(municipality_raw) AS municipality_text
FROM (SELECT prefecture AS prefecture_raw, municipality AS municipality_raw FROM raw_engagements
      UNION SELECT prefecture, municipality FROM raw_consultations
      UNION SELECT prefecture, municipality FROM raw_events);

CREATE OR REPLACE TEMP VIEW place_input AS
SELECT prefecture_text, municipality_text FROM place_raw;
