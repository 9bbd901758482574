-- Maps each distinct free-text theme item (table `theme_input`: item, audience) onto the taxonomy.
-- An exact theme name wins; otherwise the longest keyword contained in the text, preferring themes of
-- the expected audience (企業 for sessions, 自治体 for consultations). Unmatched items keep theme NULL.
CREATE OR REPLACE TEMP TABLE theme_resolved AS
WITH items AS (
    SELECT DISTINCT item, audience FROM theme_input WHERE item IS NOT NULL
),
candidates AS (
    SELECT items.item, items.audience, tk.theme,
           row_number() OVER (
               PARTITION BY items.item, items.audience
               ORDER BY tk.exact DESC,
                        (tk.audience = items.audience OR tk.audience = '共通') DESC,
                        length(tk.keyword) DESC,
                        tk.theme
           ) AS rank
    FROM items
    JOIN theme_keyword tk ON contains(lower(items.item), lower(tk.keyword))
)
SELECT items.item, items.audience, candidates.theme
FROM items
LEFT JOIN candidates ON candidates.item = items.item AND candidates.audience = items.audience AND candidates.rank = 1;
