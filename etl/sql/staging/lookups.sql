-- Lookups over the reference tables used by every staging model.
-- prefecture_alias: every way a person writes a prefecture (茨城県, 茨城, 08, 8) → its code and name.
CREATE OR REPLACE TEMP VIEW prefecture_alias AS
WITH names AS (
    SELECT prefecture AS alias, prefecture_code, prefecture FROM prefectures
    UNION ALL
    SELECT regexp_replace(prefecture, '[都府県]$', ''), prefecture_code, prefecture
    FROM prefectures WHERE prefecture <> '北海道'
    UNION ALL
    SELECT prefecture_code, prefecture_code, prefecture FROM prefectures
    UNION ALL
    SELECT CAST(CAST(prefecture_code AS INTEGER) AS VARCHAR), prefecture_code, prefecture FROM prefectures
)
SELECT DISTINCT alias, prefecture_code, prefecture FROM names;

-- municipality_unique_name: names that occur once in Japan, so a name alone identifies the place.
CREATE OR REPLACE TEMP VIEW municipality_unique_name AS
SELECT municipality, any_value(municipality_code) AS municipality_code
FROM municipalities
GROUP BY municipality
HAVING count(*) = 1;

-- theme_keyword: the theme name itself and each keyword, for matching free text.
CREATE OR REPLACE TEMP VIEW theme_keyword AS
SELECT theme, audience, theme AS keyword, 1 AS exact FROM themes
UNION ALL
SELECT theme, audience, unnest(keywords) AS keyword, 0 AS exact FROM themes;

CREATE OR REPLACE TEMP VIEW stage_keyword AS
SELECT stage_no, stage, stage AS keyword, 1 AS exact FROM stages
UNION ALL
SELECT stage_no, stage, unnest(keywords) AS keyword, 0 AS exact FROM stages;
