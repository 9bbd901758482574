-- Resolves prefecture and municipality text of the staged rows of one kind (table `place_input`:
-- _src, _row, prefecture_text, municipality_text) to codes and current names.
-- A municipality is found by its 5/6-digit code, by name within its prefecture, or by a name unique in Japan.
CREATE OR REPLACE TEMP TABLE place_resolved AS
WITH input AS (
    SELECT DISTINCT prefecture_text, municipality_text FROM place_input
),
pref AS (
    SELECT input.*, pa.prefecture_code, pa.prefecture
    FROM input LEFT JOIN prefecture_alias pa ON pa.alias = input.prefecture_text
),
cleaned AS (
    -- 茨城県筑西市 → 筑西市 when the prefecture is written in front of the name
    SELECT pref.*,
           CASE WHEN pref.prefecture IS NOT NULL AND starts_with(pref.municipality_text, pref.prefecture)
                THEN substr(pref.municipality_text, length(pref.prefecture) + 1)
                ELSE pref.municipality_text END AS municipality_name,
           dx_code5(pref.municipality_text) AS code5
    FROM pref
),
matched AS (
    SELECT cleaned.prefecture_text, cleaned.municipality_text, cleaned.prefecture_code, cleaned.prefecture,
           coalesce(by_code.municipality_code, by_name.municipality_code, by_unique.municipality_code) AS municipality_code
    FROM cleaned
    LEFT JOIN municipalities by_code ON by_code.code5 = cleaned.code5
    LEFT JOIN municipalities by_name
           ON by_name.prefecture_code = cleaned.prefecture_code AND by_name.municipality = cleaned.municipality_name
    LEFT JOIN municipality_unique_name by_unique
           ON cleaned.prefecture_code IS NULL AND by_unique.municipality = cleaned.municipality_name
)
SELECT matched.prefecture_text, matched.municipality_text,
       -- a blank prefecture is filled from the municipality; an unrecognised one stays NULL (an error)
       CASE WHEN matched.prefecture_text IS NULL THEN m.prefecture_code ELSE matched.prefecture_code END
           AS prefecture_code,
       CASE WHEN matched.prefecture_text IS NULL THEN m.prefecture ELSE matched.prefecture END AS prefecture,
       m.municipality_code, m.municipality,
       -- a code that names a place in another prefecture is a contradiction, not a match
       (m.prefecture_code IS NOT NULL AND matched.prefecture_code IS NOT NULL
        AND m.prefecture_code <> matched.prefecture_code) AS prefecture_mismatch
FROM matched LEFT JOIN municipalities m USING (municipality_code);
