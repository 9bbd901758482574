"""Incremental marts (issue 18): a load into a database whose marts are current updates only the mart rows of the keys
it touched (etl/marts.py update_marts). Whatever the batches, the marts must equal a full rebuild over the same
records: after each batch of a seeded random sequence (new, re-sent, changed and withdrawn rows of every kind) every
mart table is compared with the one build_marts makes on a copy, with EXCEPT ALL both ways."""
from __future__ import annotations

import csv
import datetime as dt
import random
import shutil
from pathlib import Path

import duckdb
import pytest

import etl.marts
from etl.generate import FILE_NAMES, generate
from etl.load import load_files
from etl.macros import parse_date
from etl.marts import MART_ORDER, build_marts

KEYS = {"engagements": ("案件ID",), "sessions": ("案件ID", "回"), "consultations": ("相談ID",),
        "events": ("イベントID",), "targets": ("年度", "コンソーシアム", "指標")}
WITHDRAW = "削除"


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def programme(tmp_path_factory) -> dict:
    """A generated programme of 3,000 sessions: per kind the header and the rows by key."""
    out = tmp_path_factory.mktemp("programme")
    generate(out, 3000, seed=18)
    data = {}
    for kind, name in FILE_NAMES.items():
        header, rows = _read(out / name)
        data[kind] = (header, {tuple(r[k] for k in KEYS[kind]): r for r in rows})
    return data


def _write_batch(folder: Path, programme: dict, rows: dict[str, list[dict[str, str]]]) -> Path:
    folder.mkdir(parents=True)
    for kind, kind_rows in rows.items():
        if not kind_rows:
            continue
        header = list(programme[kind][0])
        if any(WITHDRAW in r for r in kind_rows):
            header.append(WITHDRAW)
        with open(folder / FILE_NAMES[kind], "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, header, extrasaction="ignore")
            w.writeheader()
            w.writerows(kind_rows)
    return folder


def _parse(date_text: str) -> dt.date:
    """A date as the files write it (2024/4/1, R6.4.1, …); one that does not read: a date in the programme."""
    return parse_date(date_text) or dt.date(2024, 6, 1)


def _changed(kind: str, row: dict[str, str], rng: random.Random, programme: dict) -> dict[str, str]:
    """The row with one or two record columns changed, as a steward's correction would."""
    row = dict(row)
    engagement_ids = [k[0] for k in programme["engagements"][1]]
    if kind == "engagements":
        field = rng.choice(["コンソーシアム", "担当ITC", "状況", "市区町村", "支援先区分", "予定回数"])
        row[field] = {"コンソーシアム": rng.choice(["茨城県DX支援コミュニティ", "長野県DX支援コミュニティ", ""]),
                      "担当ITC": rng.choice(["山口 浩（架空）", "前田 由美（架空）", ""]),
                      "状況": rng.choice(["実施中", "完了", "中止"]),
                      "市区町村": rng.choice(["", "筑西市", "松本市"]),
                      "支援先区分": rng.choice(["企業", "自治体"]),
                      "予定回数": str(rng.randint(3, 12))}[field]
    elif kind == "sessions":
        field = rng.choice(["実施日", "テーマ", "フェーズ", "金融機関同行", "時間"])
        row[field] = {"実施日": (_parse(row["実施日"]) + dt.timedelta(days=rng.randint(-40, 40))).isoformat(),
                      "テーマ": rng.choice(["データ活用", "業務効率化、データ活用", "", "未知のテーマ"]),
                      "フェーズ": rng.choice(["経営理念・ミッションの確認", "効果検証", ""]),
                      "金融機関同行": rng.choice(["○", "×", ""]),
                      "時間": str(rng.choice([60, 90, 120]))}[field]
    elif kind == "consultations":
        field = rng.choice(["相談日", "相談テーマ", "案件ID", "市区町村", "対応ITC"])
        row[field] = {"相談日": (_parse(row["相談日"]) + dt.timedelta(days=rng.randint(-60, 60))).isoformat(),
                      "相談テーマ": rng.choice(["情報システムの標準化・共通化", "データ活用", "その他の話題"]),
                      "案件ID": rng.choice(["", *rng.sample(engagement_ids, 1)]),
                      "市区町村": rng.choice(["", row["市区町村"]]),
                      "対応ITC": rng.choice(["木村 直子（架空）", ""])}[field]
    elif kind == "events":
        field = rng.choice(["開催日", "参加者数", "種別", "コンソーシアム"])
        row[field] = {"開催日": (_parse(row["開催日"]) + dt.timedelta(days=rng.randint(-30, 30))).isoformat(),
                      "参加者数": str(rng.randint(0, 120)),
                      "種別": rng.choice(["相談会", "職員研修", "DXセミナー1"]),
                      "コンソーシアム": rng.choice(["", "長野県DX支援コミュニティ"])}[field]
    else:
        row["目標値"] = str(rng.randint(1, 500))
    return row


def _mart_differences(db: Path, tmp: Path) -> dict[str, tuple[int, int]]:
    """Per mart: rows only in the incrementally kept mart, rows only in a full rebuild of a copy."""
    full = tmp / "full.duckdb"
    shutil.copyfile(db, full)
    con = duckdb.connect(str(full))
    try:
        build_marts(con)
        con.execute("CHECKPOINT")
        con.execute("ATTACH ? AS kept (READ_ONLY)", [str(db)])
        out = {}
        for name in MART_ORDER:
            cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
            assert [r[0] for r in con.execute(f"DESCRIBE kept.{name}").fetchall()] == cols, name
            only_kept = con.execute(f"SELECT count(*) FROM (FROM kept.{name} EXCEPT ALL FROM {name})").fetchall()[0][0]
            only_full = con.execute(f"SELECT count(*) FROM (FROM {name} EXCEPT ALL FROM kept.{name})").fetchall()[0][0]
            out[name] = (only_kept, only_full)
        return out
    finally:
        con.close()
        full.unlink()


@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_random_batches_keep_the_marts_equal_to_a_full_rebuild(programme, tmp_path, seed):
    rng = random.Random(seed)
    # the first load: all but a tenth of every kind (held back to come as new rows), targets whole
    held: dict[str, list[tuple]] = {}
    stored: dict[str, dict[tuple, dict[str, str]]] = {}
    for kind, (_, rows) in programme.items():
        keys = list(rows)
        rng.shuffle(keys)
        cut = 0 if kind == "targets" else len(keys) // 10
        held[kind] = keys[:cut]
        stored[kind] = {k: rows[k] for k in keys[cut:]}
    # sessions of a held-back engagement come with it
    held_engagements = {k[0] for k in held["engagements"]}
    for key in [k for k in stored["sessions"] if k[0] in held_engagements]:
        held["sessions"].append(key)
        del stored["sessions"][key]
    db = tmp_path / "dx.duckdb"
    first = _write_batch(tmp_path / "batch-0", programme, {k: list(v.values()) for k, v in stored.items()})
    report = load_files([first], db, fresh=True, accept_valid=True)
    assert report.loaded and report.marts == "full"
    assert all(d == (0, 0) for d in _mart_differences(db, tmp_path).values())

    ways = []
    for step in range(1, 7):
        batch: dict[str, list[dict[str, str]]] = {k: [] for k in programme}
        taken: dict[str, set] = {k: set() for k in programme}

        def add(kind: str, key: tuple, row: dict[str, str]) -> None:
            if key not in taken[kind]:       # one row per key in a batch (a duplicate key is an error)
                taken[kind].add(key)
                batch[kind].append(row)

        for kind in rng.sample(list(programme), rng.randint(1, 4)):
            rows = programme[kind][1]
            # new rows (an engagement comes with its held-back sessions)
            for key in [held[kind].pop() for _ in range(min(len(held[kind]), rng.randint(0, 8)))]:
                add(kind, key, rows[key])
                stored[kind][key] = rows[key]
                if kind == "engagements":
                    for s in [s for s in held["sessions"] if s[0] == key[0]]:
                        held["sessions"].remove(s)
                        add("sessions", s, programme["sessions"][1][s])
                        stored["sessions"][s] = programme["sessions"][1][s]
            keys = list(stored[kind])
            # re-sent rows, as stored
            for key in rng.sample(keys, min(len(keys), rng.randint(0, 15))):
                add(kind, key, stored[kind][key])
            # changed rows
            for key in rng.sample(keys, min(len(keys), rng.randint(1, 10))):
                if key not in taken[kind]:
                    stored[kind][key] = _changed(kind, stored[kind][key], rng, programme)
                    add(kind, key, stored[kind][key])
            # withdrawn rows (not engagements: their sessions would stay behind)
            if kind in ("sessions", "consultations", "events") and rng.random() < 0.6:
                for key in rng.sample(keys, min(len(keys), rng.randint(1, 4))):
                    if key not in taken[kind]:
                        add(kind, key, {**stored[kind].pop(key), WITHDRAW: "有"})
        folder = _write_batch(tmp_path / f"batch-{step}", programme, batch)
        report = load_files([folder], db, accept_valid=True)
        assert report.loaded, report.unreadable
        ways.append(report.marts)
        differences = _mart_differences(db, tmp_path)
        assert all(d == (0, 0) for d in differences.values()), (step, batch.keys(), differences)
    # the sequence did go the incremental way (small batches), so the comparison above tested it
    assert ways.count("incremental") >= 4, ways


def test_a_re_sent_batch_changes_no_mart_row_and_a_new_one_updates_them(programme, tmp_path):
    header_rows = {k: list(v.values()) for k, (_, v) in programme.items()}
    last = header_rows["sessions"][-30:]          # as the benchmark's monthly batch: the file's last rows
    last_keys = {(r["案件ID"], r["回"]) for r in last}
    first = _write_batch(tmp_path / "first", programme, {
        **header_rows, "sessions": [r for r in header_rows["sessions"] if (r["案件ID"], r["回"]) not in last_keys]})
    db = tmp_path / "dx.duckdb"
    assert load_files([first], db, fresh=True, accept_valid=True).loaded
    resent = _write_batch(tmp_path / "resent", programme, {"sessions": header_rows["sessions"][:50]})
    before = _snapshot(db)
    report = load_files([resent], db, accept_valid=True)
    assert report.loaded and report.marts == "incremental"
    assert _snapshot(db) == before
    new = _write_batch(tmp_path / "new", programme, {"sessions": last})
    report = load_files([new], db, accept_valid=True)
    assert report.loaded and report.marts == "incremental"
    # the 30 sessions are counted in the daily mart (an independent count over the sessions table)
    con = duckdb.connect(str(db), read_only=True)
    try:
        daily, stored = con.execute("""SELECT (SELECT sum(sessions) FROM mart_daily_activity),
            (SELECT count(*) FROM sessions s JOIN engagements e USING (engagement_id))""").fetchall()[0]
    finally:
        con.close()
    assert daily == stored
    assert all(d == (0, 0) for d in _mart_differences(db, tmp_path).values())


def _snapshot(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {n: sorted(con.execute(f"FROM {n}").fetchall(), key=repr) for n in MART_ORDER}
    finally:
        con.close()


def test_marts_of_another_state_or_a_wide_batch_are_rebuilt_whole(programme, tmp_path):
    rows = {k: list(v.values()) for k, (_, v) in programme.items()}
    db = tmp_path / "dx.duckdb"
    assert load_files([_write_batch(tmp_path / "all", programme, rows)], db, fresh=True, accept_valid=True).loaded
    # marts built by another version (or over other reference data): the next load rebuilds them
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = 'other' WHERE key = 'marts_state'")
    con.execute("DELETE FROM mart_daily_activity WHERE date = (SELECT min(date) FROM mart_daily_activity)")
    con.close()
    one = _write_batch(tmp_path / "one", programme, {"events": [_changed("events", rows["events"][0],
                                                                          random.Random(3), programme)]})
    report = load_files([one], db, accept_valid=True)
    assert report.loaded and report.marts == "full"
    assert all(d == (0, 0) for d in _mart_differences(db, tmp_path).values())
    # a batch that changes every engagement: rebuilt whole, not key by key
    changed = [{**r, "担当ITC": "全件変更（架空）"} for r in rows["engagements"]]
    report = load_files([_write_batch(tmp_path / "wide", programme, {"engagements": changed})], db,
                        accept_valid=True)
    assert report.loaded and report.marts == "full"
    assert all(d == (0, 0) for d in _mart_differences(db, tmp_path).values())


@pytest.mark.parametrize("changed", [False, True], ids=["new-records", "and-one-changed"])
def test_a_batch_on_most_days_updates_every_mart_by_keys_or_by_adding(programme, tmp_path, changed):
    """As the benchmark's 1 % batch: new sessions and consultations on many of the days held (consultations fall on
    any day) but of few engagements and consultations. New records only: the marts by day are added to, the theme
    records get the new records' rows, the others are updated by keys (incremental); with one stored record changed
    as well, the marts by day are rebuilt whole
    (partial). Either way every mart equals a full rebuild."""
    rows = {k: list(v.values()) for k, (_, v) in programme.items()}
    new = {"sessions": rows["sessions"][-150:],
           "consultations": random.Random(18).sample(rows["consultations"], len(rows["consultations"]) // 5)}
    new_keys = {kind: {tuple(r[k] for k in KEYS[kind]) for r in new[kind]} for kind in new}
    first = _write_batch(tmp_path / "first", programme, {
        **rows, **{kind: [r for r in rows[kind] if tuple(r[k] for k in KEYS[kind]) not in new_keys[kind]]
                   for kind in new}})
    db = tmp_path / "dx.duckdb"
    assert load_files([first], db, fresh=True, accept_valid=True).loaded
    if changed:
        stored = next(r for r in rows["consultations"] if (r["相談ID"],) not in new_keys["consultations"])
        new["consultations"] = [*new["consultations"], {**stored, "対応ITC": "変更（架空）"}]
    report = load_files([_write_batch(tmp_path / "new", programme, new)], db, accept_valid=True)
    assert report.loaded and report.marts == ("partial" if changed else "incremental")
    assert all(d == (0, 0) for d in _mart_differences(db, tmp_path).values())
    con = duckdb.connect(str(db), read_only=True)
    try:
        # the batch is what this test is about: wide by days, narrow by engagements and consultations
        new_days, days, new_engagements, engagements, consultations = con.execute("""SELECT
            (SELECT count(DISTINCT date) FROM (SELECT date FROM consultations WHERE list_contains($c, consultation_id)
                UNION ALL SELECT date FROM sessions WHERE list_contains($s, engagement_id || '#' || session_no))),
            (SELECT count(DISTINCT date) FROM mart_daily_activity),
            (SELECT count(DISTINCT engagement_id) FROM sessions WHERE list_contains($s, engagement_id || '#' || session_no)),
            (SELECT count(*) FROM engagements), (SELECT count(*) FROM consultations)""",
            {"c": [k[0] for k in new_keys["consultations"]],
             "s": [f"{e}#{int(n)}" for e, n in new_keys["sessions"]]}).fetchall()[0]
        assert new_days > 0.3 * days
        assert new_engagements < 0.3 * engagements and len(new["consultations"]) < 0.3 * consultations
        # independent counts: every stored session and consultation is counted in the daily mart and has its rows
        # in the theme mart
        daily, theme_records, sessions, consultations = con.execute("""SELECT
            (SELECT sum(sessions) + sum(consultations) FROM mart_daily_activity),
            (SELECT count(DISTINCT (source, consultation_id, engagement_id, session_no)) FROM mart_theme_records),
            (SELECT count(*) FROM sessions JOIN engagements USING (engagement_id)),
            (SELECT count(*) FROM consultations)""").fetchall()[0]
    finally:
        con.close()
    assert daily == theme_records == sessions + consultations


@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_random_batches_of_new_records_add_to_the_marts_as_a_full_rebuild_would(programme, tmp_path, seed,
                                                                                monkeypatch):
    """Batches of new sessions, consultations and events (the marts by day are added to, not built again), some with
    re-sent rows among them, some with a rejected row of a stored key: after each, every mart equals a full rebuild.
    Every scope with keys counts as too wide here, so the marts by day are added to, never built again by day."""
    monkeypatch.setattr(etl.marts, "INCREMENTAL_MAX_SHARE", 0)
    rng = random.Random(seed)
    kinds = ("sessions", "consultations", "events")
    held = {kind: rng.sample(list(programme[kind][1]), len(programme[kind][1]) // 4) for kind in kinds}
    rows = {kind: list(v.values()) for kind, (_, v) in programme.items()}
    first = _write_batch(tmp_path / "batch-0", programme, {
        **rows, **{kind: [r for key, r in programme[kind][1].items() if key not in set(held[kind])] for kind in kinds}})
    db = tmp_path / "dx.duckdb"
    assert load_files([first], db, fresh=True, accept_valid=True).loaded
    ways = []
    for step in range(1, 6):
        batch = {}
        for kind in rng.sample(kinds, rng.randint(1, 3)):
            if not held[kind]:
                continue
            new = [programme[kind][1][held[kind].pop()] for _ in range(min(len(held[kind]), rng.randint(1, 60)))]
            stored = [r for key, r in programme[kind][1].items() if key not in set(held[kind])]
            resent = rng.sample(stored, rng.randint(0, 5))       # as stored: they touch no mart
            # a rejected row (a date that does not exist) whose key is stored: the marts by day are then built again
            # by day, and the stored record stays as it was
            bad = [{**rng.choice(stored), "実施日": "2024-02-30"}] if kind == "sessions" and rng.random() < 0.5 else []
            batch[kind] = new + [r for r in resent if r not in new] + bad
        if not batch:
            continue
        rejected = any(r.get("実施日") == "2024-02-30" for r in batch.get("sessions", []))
        report = load_files([_write_batch(tmp_path / f"batch-{step}", programme, batch)], db, accept_valid=True)
        assert report.loaded, report.unreadable
        assert bool(report.errors) == rejected
        ways.append(report.marts)
        differences = _mart_differences(db, tmp_path)
        assert all(d == (0, 0) for d in differences.values()), (step, list(batch), differences)
        # new records are added to the marts by day; with a stored record's key among the touched ones, those marts
        # are rebuilt whole (partial or full)
        assert (report.marts != "incremental") if rejected else (report.marts != "full"), (step, report.marts)
    assert len(ways) >= 3, ways
