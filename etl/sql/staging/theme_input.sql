-- Theme cells repeat a lot: each distinct raw text is parsed once (stg_sessions and stg_consultations join back by
-- the raw text), and the distinct items go to themes.sql (view `theme_input`: item, audience).
CREATE OR REPLACE TEMP TABLE session_theme_texts AS
SELECT themes_raw, themes_original, dx_list(themes_original) AS theme_items
FROM (SELECT themes_raw, dx_text(themes_raw) AS themes_original
      FROM (SELECT DISTINCT themes AS themes_raw FROM raw_sessions WHERE themes IS NOT NULL));

CREATE OR REPLACE TEMP TABLE consultation_theme_texts AS
SELECT theme_raw, dx_text(theme_raw) AS theme_original
FROM (SELECT DISTINCT theme AS theme_raw FROM raw_consultations WHERE theme IS NOT NULL);

CREATE OR REPLACE TEMP VIEW theme_input AS
SELECT DISTINCT unnest(theme_items) AS item, '企業' AS audience FROM session_theme_texts
UNION ALL SELECT DISTINCT theme_original, '自治体' FROM consultation_theme_texts;
