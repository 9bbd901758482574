-- A load's scope (etl/scope.py): where a record lies, as the read side places it (monitor/read/queries.py
-- _RESTRICTED_WHERE). TEMP macros on the batch's connection; the scope itself is always a parameter ($scope).

-- a consortium counts as its home prefecture: the reference list's (data/reference/consortia.csv → consortia);
-- a consortium not listed there, and the programme-wide '' of targets, lie in no prefecture
CREATE OR REPLACE TEMP MACRO dx_consortium_home(c) AS (
    SELECT min(k.prefecture) FROM consortia AS k WHERE k.consortium = c
);

-- inside the scope: a known prefecture among the scope's; an unknown (NULL) one never is (fail closed)
CREATE OR REPLACE TEMP MACRO dx_in_scope(p, scope) AS coalesce(list_contains(scope, p), false);
