-- Stored tables of the dashboard database. Every column is described once, here.
-- Reference tables are loaded from data/reference/*.csv; record tables hold normalised, typed records;
-- marts (etl/sql/marts/*.sql) are rebuilt from them after every load.

-- ── reference ──────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS prefectures (
    prefecture_code VARCHAR PRIMARY KEY,   -- '01'..'47' (JIS X 0401)
    prefecture      VARCHAR NOT NULL,      -- 茨城県
    prefecture_kana VARCHAR,
    region          VARCHAR,               -- 関東, 中部, …
    lat             DOUBLE,                -- representative point (prefectural office)
    lng             DOUBLE
);
CREATE TABLE IF NOT EXISTS municipalities (
    municipality_code VARCHAR PRIMARY KEY, -- 6-digit 全国地方公共団体コード with check digit, e.g. 082279
    code5             VARCHAR NOT NULL,    -- first five digits, e.g. 08227
    prefecture_code   VARCHAR NOT NULL,
    prefecture        VARCHAR NOT NULL,
    municipality      VARCHAR NOT NULL,    -- 筑西市 (current name); 政令市の区 are not listed
    municipality_kana VARCHAR,
    lat               DOUBLE,
    lng               DOUBLE
);
CREATE TABLE IF NOT EXISTS stages (
    stage_no INTEGER PRIMARY KEY,          -- 1..7 in the order 伴走支援 goes through them
    stage    VARCHAR NOT NULL,             -- 経営理念・ミッションの確認, …
    keywords VARCHAR[]                     -- words that identify the stage in free text
);
CREATE TABLE IF NOT EXISTS themes (
    theme_id   VARCHAR PRIMARY KEY,        -- stable short id, e.g. M01
    theme      VARCHAR NOT NULL,           -- taxonomy name shown on screen
    audience   VARCHAR NOT NULL,           -- 自治体 / 企業 / 共通
    keywords   VARCHAR[],                  -- matched against free text
    sort_order INTEGER
);
CREATE TABLE IF NOT EXISTS support_types (
    support_type VARCHAR PRIMARY KEY,      -- 伴走支援, CIO補佐官, …
    client_type  VARCHAR,                  -- the usual 支援先区分
    description  VARCHAR,
    sort_order   INTEGER
);
CREATE TABLE IF NOT EXISTS consortia (
    consortium      VARCHAR PRIMARY KEY,   -- 茨城県DX支援コミュニティ
    prefecture      VARCHAR,
    lead_org        VARCHAR,
    members         VARCHAR[]              -- member organisations, lead first
);

-- ── records (one table per record kind; typed; source_* say where a row came from) ──
-- Keys (etl/kinds.py) are unique without a PRIMARY KEY: the loader rejects a key twice in one batch and replaces
-- stored rows with the same key. An index would cost ≈ 0.7 s per million rows on every load (measured); without it
-- one engagement's sessions are still found in ≈ 3 ms among 1,000,000 (rows are stored in file order).
CREATE TABLE IF NOT EXISTS engagements (
    engagement_id     VARCHAR NOT NULL,   -- key
    fiscal_year       INTEGER NOT NULL,    -- 年度, April–March, as the Western year it starts in
    programme         VARCHAR,
    consortium        VARCHAR,
    support_type      VARCHAR NOT NULL,
    client_name       VARCHAR NOT NULL,
    client_type       VARCHAR NOT NULL,    -- 企業 / 自治体
    prefecture        VARCHAR NOT NULL,
    prefecture_code   VARCHAR,
    municipality      VARCHAR,             -- resolved current name
    municipality_code VARCHAR,             -- 6-digit code, NULL when not given
    industry          VARCHAR,
    lead_coordinator  VARCHAR,
    bank              VARCHAR,
    start_date        DATE,
    end_date          DATE,
    planned_sessions  INTEGER,             -- 予定回数; 10 for 伴走支援 when not given
    status            VARCHAR,             -- 予定 / 実施中 / 完了 / 中止
    deliverable       VARCHAR,
    deliverable_date  DATE,
    source_file       VARCHAR,
    source_sheet      VARCHAR,
    source_row        INTEGER
);
CREATE TABLE IF NOT EXISTS sessions (
    engagement_id   VARCHAR NOT NULL,
    session_no      INTEGER NOT NULL,
    date            DATE NOT NULL,
    fiscal_year     INTEGER NOT NULL,      -- derived from date
    duration_min    INTEGER,
    stage_no        INTEGER,               -- 1..7, NULL when the text matched no stage
    stage           VARCHAR,               -- canonical stage name
    stage_original  VARCHAR,               -- as written in the file
    coordinators    VARCHAR[],
    bank_attended   BOOLEAN,
    attendees       INTEGER,
    themes          VARCHAR[],             -- canonical theme names (taxonomy)
    themes_original VARCHAR,               -- as written in the file
    notes           VARCHAR,
    source_file     VARCHAR,
    source_sheet    VARCHAR,
    source_row      INTEGER                -- key: (engagement_id, session_no)
);
CREATE TABLE IF NOT EXISTS consultations (
    consultation_id   VARCHAR NOT NULL,    -- key; given, or derived from (date, client_name, department, slot)
    date              DATE NOT NULL,
    fiscal_year       INTEGER NOT NULL,
    client_name       VARCHAR NOT NULL,
    prefecture        VARCHAR NOT NULL,
    prefecture_code   VARCHAR,
    municipality      VARCHAR,
    municipality_code VARCHAR,
    department        VARCHAR,
    slot              VARCHAR,
    theme             VARCHAR,             -- canonical theme name; NULL when unmapped
    theme_original    VARCHAR NOT NULL,
    channel           VARCHAR,
    duration_min      INTEGER,
    coordinator       VARCHAR,
    engagement_id     VARCHAR,
    summary           VARCHAR,
    source_file       VARCHAR,
    source_sheet      VARCHAR,
    source_row        INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    event_id          VARCHAR NOT NULL,    -- key
    name              VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,
    date              DATE NOT NULL,
    fiscal_year       INTEGER NOT NULL,
    consortium        VARCHAR,
    prefecture        VARCHAR,
    prefecture_code   VARCHAR,
    municipality      VARCHAR,
    municipality_code VARCHAR,
    attendees         INTEGER,
    companies         INTEGER,
    applicants        INTEGER,
    source_file       VARCHAR,
    source_sheet      VARCHAR,
    source_row        INTEGER
);
CREATE TABLE IF NOT EXISTS targets (
    fiscal_year  INTEGER NOT NULL,
    consortium   VARCHAR NOT NULL,         -- '' = the whole programme
    indicator    VARCHAR NOT NULL,         -- 支援企業数, 伴走回数, DX計画書策定数, セミナー参加者数, 相談件数, …
    target       DOUBLE NOT NULL,
    source_file  VARCHAR,
    source_sheet VARCHAR,
    source_row   INTEGER,
    PRIMARY KEY (fiscal_year, consortium, indicator)
);

-- ── bookkeeping ────────────────────────────────────────────────────────────
CREATE SEQUENCE IF NOT EXISTS load_id_seq;
CREATE TABLE IF NOT EXISTS load_history (
    load_id       INTEGER,
    loaded_at     TIMESTAMP,               -- local time of the load
    file_name     VARCHAR,
    sha256        VARCHAR,
    kind          VARCHAR,
    sheet         VARCHAR,
    rows_read     INTEGER,
    rows_loaded   INTEGER,
    rows_rejected INTEGER,
    rows_new      INTEGER,                 -- of rows_loaded: a key not stored before
    rows_updated  INTEGER,                 -- a stored key, other content (the stored row is replaced)
    rows_unchanged INTEGER                 -- a stored key, the same content
);
-- databases written before the change counts were kept get the columns (NULL for their old loads)
ALTER TABLE load_history ADD COLUMN IF NOT EXISTS rows_new INTEGER;
ALTER TABLE load_history ADD COLUMN IF NOT EXISTS rows_updated INTEGER;
ALTER TABLE load_history ADD COLUMN IF NOT EXISTS rows_unchanged INTEGER;
CREATE TABLE IF NOT EXISTS load_groups (  -- what each load brought per place (etl/freshness.py: last upload per group)
    load_id     INTEGER,
    kind        VARCHAR,
    consortium  VARCHAR,                   -- the record's (a session's: its engagement's) consortium
    prefecture  VARCHAR,
    rows_loaded BIGINT
);
CREATE TABLE IF NOT EXISTS rejected_rows (
    load_id    INTEGER,
    file_name  VARCHAR,
    sheet      VARCHAR,
    row_no     INTEGER,                    -- row number as Excel (or a text editor) shows it
    kind       VARCHAR,
    column_name VARCHAR,
    value      VARCHAR,
    reason     VARCHAR,                    -- Japanese, actionable
    record     JSON,                       -- the whole original row
    prefecture VARCHAR                     -- the one prefecture the row would change (a session: its engagement's;
                                           -- etl/scope.py); NULL when unknown or two: shown only to unrestricted readers
);
ALTER TABLE rejected_rows ADD COLUMN IF NOT EXISTS prefecture VARCHAR;
CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,             -- is_sample ('true'/'false'), built_at, data_as_of, data_as_of_source ('stated'/'activity')
    value VARCHAR
);
