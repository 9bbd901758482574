"""A load's scope (etl/scope.py): a scoped load rejects, with a reason, every row that would change a record outside
its prefectures, and leaves the stored records outside exactly as they were. Real files, real DuckDB files; the
records outside a scope are read back with plain SQL, not with the code under test."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from etl.load import ScopeRefused, build_sample_database, check_files, load_files
from etl.paths import ROOT
from monitor import intake
from tests.support.etl_helpers import csv_text, query, write_csv
from tests.support.pages import INTAKE_PAGE, open_page, run_page
from tests.support.signin import proxy_sign_in

HEADERS = {
    "engagements": ["案件ID", "年度", "支援種別", "支援先名", "支援先区分", "都道府県", "市区町村", "削除"],
    "sessions": ["案件ID", "回", "実施日", "削除"],
    "consultations": ["相談ID", "相談日", "相談元", "都道府県", "相談テーマ", "削除"],
    "events": ["イベントID", "名称", "種別", "開催日", "都道府県", "市区町村", "削除"],
    "targets": ["年度", "コンソーシアム", "指標", "目標値", "削除"],
}
IB, NG = "茨城県DX支援コミュニティ", "長野県DX支援コミュニティ"


def eng(eid, pref="茨城県", city=None, **over):
    city = city if city is not None else {"茨城県": "筑西市", "長野県": "長野市", "山形県": "山形市"}.get(pref, "")
    return {"案件ID": eid, "年度": "2022", "支援種別": "伴走支援", "支援先名": "架空テスト株式会社", "支援先区分": "企業",
            "都道府県": pref, "市区町村": city, **over}


def ses(eid, no, **over):
    return {"案件ID": eid, "回": str(no), "実施日": "2022-10-05", **over}


def con(cid, pref="茨城県", **over):
    return {"相談ID": cid, "相談日": "2022-10-05", "相談元": "架空市", "都道府県": pref, "相談テーマ": "標準化", **over}


def evt(vid, pref="茨城県", city="", **over):
    return {"イベントID": vid, "名称": "DXセミナー（架空）", "種別": "DXセミナー1", "開催日": "2022-10-05",
            "都道府県": pref, "市区町村": city, **over}


def tgt(consortium, value="10", **over):
    return {"年度": "2022", "コンソーシアム": consortium, "指標": "伴走回数", "目標値": value, **over}


# the stored records every case starts from: one of each kind in 茨城県 and in 長野県 (+ a programme-wide target)
BASE = {
    "engagements": [eng("E-IB"), eng("E-NG", "長野県")],
    "sessions": [ses("E-IB", 1), ses("E-NG", 1)],
    "consultations": [con("C-IB"), con("C-NG", "長野県")],
    "events": [evt("V-IB"), evt("V-NG", "長野県")],
    "targets": [tgt(IB), tgt(NG), tgt("")],
}


def write_files(folder: Path, records: dict[str, list[dict]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_csv(folder / f"{kind}.csv", HEADERS[kind], rows) for kind, rows in records.items()]


@pytest.fixture(scope="module")
def base_master(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("scope_base")
    db = d / "dx.duckdb"
    report = load_files(write_files(d / "files", BASE), db)
    assert report.loaded and not report.errors
    return db


@pytest.fixture()
def db(base_master, tmp_path) -> Path:
    path = tmp_path / "dx.duckdb"
    shutil.copyfile(base_master, path)
    return path


IB_ONLY = ("茨城県",)
OUT_NG = "都道府県『長野県』はこの取込の範囲（茨城県）の外です"

# (case, the files (kind → rows), scope, per kind the expected outcome of each row in file order: None = accepted,
# else a text its reason holds)
CASES = [
    ("own-prefecture-out", {"engagements": [eng("E-1"), eng("E-2", "長野県")]}, IB_ONLY,
     {"engagements": [None, OUT_NG]}),
    ("consultation-own-out", {"consultations": [con("C-1", "長野県"), con("C-2")]}, IB_ONLY,
     {"consultations": [OUT_NG, None]}),
    ("event-blank-prefecture", {"events": [evt("V-1", ""), evt("V-2")]}, IB_ONLY,
     {"events": ["都道府県がわからないため、この取込の範囲（茨城県）の中か確かめられません", None]}),
    ("event-placed-by-municipality", {"events": [evt("V-1", "", "長野市"), evt("V-2", "", "筑西市")]}, IB_ONLY,
     {"events": [OUT_NG, None]}),
    ("engagement-blank-prefecture", {"engagements": [eng("E-1", "", "")]}, IB_ONLY,
     {"engagements": ["都道府県がわからないため"]}),
    ("unresolvable-prefecture", {"consultations": [con("C-1", "架空県")]}, IB_ONLY,
     {"consultations": ["都道府県がわからないため"]}),
    ("session-via-batch-engagement",
     {"engagements": [eng("E-1"), eng("E-2", "長野県")], "sessions": [ses("E-1", 1), ses("E-2", 1)]}, IB_ONLY,
     {"engagements": [None, OUT_NG],
      "sessions": [None, "案件ID「E-2」の支援案件の都道府県『長野県』はこの取込の範囲（茨城県）の外です"]}),
    ("session-via-stored-engagement", {"sessions": [ses("E-IB", 2), ses("E-NG", 2)]}, IB_ONLY,
     {"sessions": [None, "案件ID「E-NG」の支援案件の都道府県『長野県』はこの取込の範囲（茨城県）の外です"]}),
    ("session-unknown-engagement", {"sessions": [ses("E-NONE", 1)]}, IB_ONLY,
     {"sessions": ["案件ID「E-NONE」の支援案件がないため、この取込の範囲（茨城県）の中か確かめられません"]}),
    # the batch's engagement is rejected (moved out): its session hangs off the stored one, which is inside
    ("session-of-rejected-batch-engagement",
     {"engagements": [eng("E-IB", "長野県")], "sessions": [ses("E-IB", 2)]}, IB_ONLY,
     {"engagements": [OUT_NG], "sessions": [None]}),
    ("resent-key-stored-outside", {"engagements": [eng("E-NG", "茨城県")], "consultations": [con("C-NG")],
                                   "events": [evt("V-NG")]}, IB_ONLY,
     {"engagements": ["取込済みの同じ案件IDの記録は都道府県『長野県』で、この取込の範囲（茨城県）の外です"],
      "consultations": ["取込済みの同じ相談IDの記録は都道府県『長野県』"],
      "events": ["取込済みの同じイベントIDの記録は都道府県『長野県』"]}),
    ("resent-key-stored-inside", {"consultations": [con("C-IB", 相談元="架空市（更新）")]}, IB_ONLY,
     {"consultations": [None]}),
    ("withdraw-outside", {"consultations": [con("C-NG", "長野県", 削除="1"), con("C-IB", 削除="1")],
                          "sessions": [ses("E-NG", 1, 削除="1"), ses("E-IB", 1, 削除="1")]}, IB_ONLY,
     {"consultations": ["取込済みの同じ相談IDの記録は都道府県『長野県』", None],
      "sessions": ["案件ID「E-NG」の支援案件の都道府県『長野県』", None]}),
    ("withdraw-outside-claiming-inside", {"events": [evt("V-NG", "茨城県", 削除="1")]}, IB_ONLY,
     {"events": ["取込済みの同じイベントIDの記録は都道府県『長野県』"]}),
    ("targets-by-consortium-home", {"targets": [tgt(IB, "12"), tgt(NG, "12"), tgt("", "12"), tgt("架空コミュニティ")]},
     IB_ONLY,
     {"targets": [None, "コンソーシアム『長野県DX支援コミュニティ』の本拠の都道府県『長野県』はこの取込の範囲（茨城県）の外です",
                  "事業全体（コンソーシアムが空欄）の目標値", "本拠の都道府県がわからないため"]}),
    ("multi-prefecture-scope", {"engagements": [eng("E-1"), eng("E-2", "長野県"), eng("E-3", "山形県")]},
     ("茨城県", "長野県"),
     {"engagements": [None, None, "都道府県『山形県』はこの取込の範囲（茨城県、長野県）の外です"]}),
    ("no-scope-unchanged", {"engagements": [eng("E-2", "長野県"), eng("E-NG", "茨城県")],
                            "sessions": [ses("E-NG", 2)], "targets": [tgt("", "12")]}, None,
     {"engagements": [None, None], "sessions": [None], "targets": [None]}),
]


def outside(db: Path, scope: tuple[str, ...]) -> dict[str, list[tuple]]:
    """Every stored record outside ``scope``, every column, by the read side's rule in plain SQL: a session by its
    engagement, a target by its consortium's reference prefecture; no prefecture = outside."""
    s = list(scope)
    sql = {
        "engagements": "SELECT * FROM engagements WHERE prefecture IS NULL OR NOT list_contains(?, prefecture)",
        "sessions": "SELECT * FROM sessions WHERE engagement_id NOT IN (SELECT engagement_id FROM engagements "
                    "WHERE list_contains(?, prefecture))",
        "consultations": "SELECT * FROM consultations WHERE prefecture IS NULL OR NOT list_contains(?, prefecture)",
        "events": "SELECT * FROM events WHERE prefecture IS NULL OR NOT list_contains(?, prefecture)",
        "targets": "SELECT * FROM targets WHERE consortium NOT IN (SELECT consortium FROM consortia "
                   "WHERE list_contains(?, prefecture))",
    }
    return {k: sorted(query(db, q, [s]), key=repr) for k, q in sql.items()}


def rejected_by_row(report) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for p in report.errors:
        out[(p.kind, p.row)] = out.get((p.kind, p.row), "") + p.reason + " / "
    return out


@pytest.mark.parametrize("case, records, scope, expected", CASES, ids=[c[0] for c in CASES])
def test_scope_rejects_rows_outside(db, tmp_path, case, records, scope, expected):
    before = outside(db, scope) if scope else None
    report = load_files(write_files(tmp_path / "files", records), db, accept_valid=True, scope=scope)
    got = rejected_by_row(report)
    for kind, outcomes in expected.items():
        for i, want in enumerate(outcomes):
            reason = got.get((kind, i + 2))         # row 1 is the header
            if want is None:
                assert reason is None, f"{kind} row {i + 2}: rejected: {reason}"
            else:
                assert reason is not None and want in reason, f"{kind} row {i + 2}: {reason!r} lacks {want!r}"
    assert {k for k, _ in got} <= set(expected)
    if scope:
        assert outside(db, scope) == before      # row for row, every column: nothing outside changed
        assert any("この取込は" in n and "の記録だけを変更できます" in n for n in report.notes)
    assert report.loaded or not any(o is None for os_ in expected.values() for o in os_)


def test_no_scope_loads_what_a_scope_rejects(db, tmp_path):
    """None is no limit: the re-sent 長野県 key moves, as before scopes existed."""
    report = load_files(write_files(tmp_path / "f", {"engagements": [eng("E-NG", "茨城県")]}), db)
    assert report.loaded and not report.errors
    assert query(db, "SELECT prefecture FROM engagements WHERE engagement_id = 'E-NG'") == [("茨城県",)]


def test_out_of_scope_records_unchanged_byte_for_byte(db, tmp_path):
    """A mixed load under 茨城県: the 茨城県 rows load; every record outside is the same, row for row, as before, and the
    rejected rows are stored with their reason and the prefecture they would change."""
    scope = ("茨城県",)
    full_before = {k: sorted(query(db, f"SELECT * FROM {k}"), key=repr) for k in HEADERS}
    before = outside(db, scope)
    records = {"engagements": [eng("E-NEW"), eng("E-NG", "茨城県"), eng("E-NG2", "長野県")],
               "sessions": [ses("E-NEW", 1), ses("E-NG", 2), ses("E-IB", 2)],
               "consultations": [con("C-NG", "長野県", 削除="1"), con("C-NEW")],
               "targets": [tgt(NG, "99"), tgt("", "99"), tgt(IB, "99")]}
    report = load_files(write_files(tmp_path / "f", records), db, accept_valid=True, scope=scope)
    assert report.loaded
    assert outside(db, scope) == before
    # inside the scope: exactly the accepted rows changed (an independent look at the tables)
    assert query(db, "SELECT engagement_id FROM engagements ORDER BY 1") == [("E-IB",), ("E-NEW",), ("E-NG",)]
    assert query(db, "SELECT engagement_id, session_no FROM sessions ORDER BY 1, 2") == \
        [("E-IB", 1), ("E-IB", 2), ("E-NEW", 1), ("E-NG", 1)]
    assert query(db, "SELECT target FROM targets WHERE consortium = ?", [IB]) == [(99.0,)]
    assert {k: sorted(query(db, f"SELECT * FROM {k}"), key=repr) for k in ("events",)} == \
        {"events": full_before["events"]}
    stored = query(db, """SELECT kind, row_no, prefecture, string_agg(reason, ' / ') FROM rejected_rows
                          WHERE load_id = (SELECT max(load_id) FROM rejected_rows) GROUP BY ALL ORDER BY 1, 2""")
    assert [(k, r, p) for k, r, p, _ in stored] == [
        ("consultations", 2, "長野県"),
        ("engagements", 3, None),           # claims 茨城県, stored in 長野県: two prefectures, shown to no scoped reader
        ("engagements", 4, "長野県"),
        ("sessions", 3, "長野県"),
        ("targets", 2, "長野県"), ("targets", 3, None)]
    assert all("範囲（茨城県）" in reason for *_, reason in stored)


def test_check_with_scope_writes_nothing(db, tmp_path):
    before = Path(db).read_bytes()
    report = check_files(write_files(tmp_path / "f", {"engagements": [eng("E-2", "長野県")]}), db, scope=IB_ONLY)
    assert [p.reason for p in report.errors] == [OUT_NG]
    assert Path(db).read_bytes() == before


def test_scoped_load_refuses_to_replace_everything(db, tmp_path):
    files = write_files(tmp_path / "f", {"engagements": [eng("E-1")]})
    before = Path(db).read_bytes()
    with pytest.raises(ScopeRefused, match="--fresh"):
        load_files(files, db, fresh=True, scope=IB_ONLY)
    assert Path(db).read_bytes() == before
    sample = tmp_path / "sample.duckdb"
    build_sample_database(sample)
    sample_before = sample.read_bytes()
    with pytest.raises(ScopeRefused, match="サンプルデータ"):
        load_files(files, sample, accept_valid=True, scope=IB_ONLY)
    assert sample.read_bytes() == sample_before


def test_scoped_load_into_a_new_database(tmp_path):
    """No database yet: nothing outside can change; the rows outside are still rejected."""
    db = tmp_path / "new.duckdb"
    report = load_files(write_files(tmp_path / "f", {"engagements": [eng("E-1"), eng("E-2", "長野県")]}), db,
                        accept_valid=True, scope=IB_ONLY)
    assert report.loaded
    assert query(db, "SELECT engagement_id FROM engagements") == [("E-1",)]


def _cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_cli_scope(db, tmp_path):
    files = write_files(tmp_path / "f", {"engagements": [eng("E-1"), eng("E-2", "長野県")]})
    r = _cli("load", *files, "--db", db, "--scope", "茨城県")
    assert r.returncode == 1, r.stderr                       # a rejected row without --accept-valid: nothing written
    assert OUT_NG in r.stdout
    assert query(db, "SELECT count(*) FROM engagements WHERE engagement_id IN ('E-1', 'E-2')") == [(0,)]
    r = _cli("load", *files, "--db", db, "--scope", "茨城県", "--accept-valid")
    assert r.returncode == 0, r.stderr
    assert query(db, "SELECT engagement_id FROM engagements WHERE engagement_id IN ('E-1', 'E-2')") == [("E-1",)]
    r = _cli("load", *files, "--db", db, "--scope", "茨城県、長野県", "--accept-valid")
    assert r.returncode == 0, r.stderr
    assert query(db, "SELECT count(*) FROM engagements WHERE engagement_id = 'E-2'") == [(1,)]


@pytest.mark.parametrize("value, shown", [("茨城", "「茨城」"), ("茨城県,架空県", "「架空県」"), (",", "都道府県を指定")])
def test_cli_scope_unknown_prefecture(db, tmp_path, value, shown):
    files = write_files(tmp_path / "f", {"engagements": [eng("E-1")]})
    before = Path(db).read_bytes()
    for verb in ("load", "check"):
        r = _cli(verb, *files, "--db", db, "--scope", value)
        assert r.returncode == 2
        assert shown in r.stderr and "Traceback" not in r.stderr
    assert Path(db).read_bytes() == before


def test_cli_scope_with_fresh_is_refused(db, tmp_path):
    files = write_files(tmp_path / "f", {"engagements": [eng("E-1")]})
    before = Path(db).read_bytes()
    r = _cli("load", *files, "--db", db, "--scope", "茨城県", "--fresh")
    assert r.returncode == 2 and "--fresh" in r.stderr
    assert Path(db).read_bytes() == before


def test_cli_scope_help_is_japanese():
    r = _cli("load", "-h")
    assert r.returncode == 0 and "--scope" in r.stdout and "この取込が変更できる都道府県" in r.stdout


# ── データ取込 as a steward scoped to 茨城県 (AppTest, signed in through DX_AUTH=proxy with a grants file) ──────────

STEWARD = "ibaraki.steward@example.jp"


@pytest.fixture()
def page_db(records_db_master, tmp_path, monkeypatch) -> Path:
    path = tmp_path / "dx.duckdb"
    shutil.copyfile(records_db_master, path)
    monkeypatch.setenv("DX_DB_PATH", str(path))
    monkeypatch.delenv("DX_ALLOWED_PREFECTURES", raising=False)
    return path


@pytest.fixture()
def steward(page_db, tmp_path, monkeypatch):
    with proxy_sign_in(monkeypatch, tmp_path):
        yield page_db


def steward_page(email: str = STEWARD, **query) -> AppTest:
    at = open_page(INTAKE_PAGE, **query)
    at.user = {"email": email}
    at.run()
    assert not at.exception, at.exception
    return at


MIXED_NAME = "相談記録_混在.csv"
MIXED = csv_text(HEADERS["consultations"], [con("C-SCOPE-IB"), con("C-SCOPE-NG", "長野県"),
                                            con("C-SCOPE-BAD", 相談日="2024-02-30")]).encode("utf-8")


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="intake_files").set_value([(name, data, "text/csv")])
    at.run()
    assert not at.exception, at.exception
    return at


def _problems(at: AppTest):
    return next(d.value for d in at.dataframe if "理由" in d.value.columns and "区分" in d.value.columns)


def test_steward_loads_within_scope_and_sees_outside_rows_rejected(steward):
    db = steward
    before = outside(db, IB_ONLY)
    at = steward_page()
    assert any(i.value == "この取込は 茨城県 の記録だけを変更できます。範囲外の行は不合格になります。" for i in at.info)
    at = _upload(at, MIXED_NAME, MIXED)
    problems = _problems(at)
    errors = problems[problems["区分"].str.startswith("エラー")]
    assert sorted(errors["行"]) == [3, 4]
    assert OUT_NG in set(errors["理由"])                    # the steward's own upload: the row outside, with its reason
    at.button(key="intake_load").click().run()
    assert not at.exception, at.exception
    assert any("取り込みました" in s.value or "1 行を取り込みました" in s.value for s in at.success), \
        [s.value for s in at.success]
    assert outside(db, IB_ONLY) == before
    assert query(db, "SELECT consultation_id FROM consultations WHERE consultation_id LIKE 'C-SCOPE-%'") == \
        [("C-SCOPE-IB",)]
    # the stored rejected rows: the steward sees the one inside the scope, not the 長野県 one
    at = steward_page()
    load_id = query(db, "SELECT max(load_id) FROM rejected_rows")[0][0]
    box = at.selectbox(key="intake_rejected_load")
    assert box.value == load_id and "不合格 1 行" in box.format_func(box.value)
    mine = intake.rejected_frames(load_id, db, IB_ONLY)["相談記録"]
    everyone = intake.rejected_frames(load_id, db)["相談記録"]
    assert list(mine["相談ID"]) == ["C-SCOPE-BAD"]
    assert sorted(everyone["相談ID"]) == ["C-SCOPE-BAD", "C-SCOPE-NG"]
    assert OUT_NG in everyone.set_index("相談ID").loc["C-SCOPE-NG", "理由"]


def test_a_consortium_grant_loads_in_its_home_prefecture(steward):
    db = steward
    at = _upload(steward_page("nagano.steward@example.jp"), MIXED_NAME, MIXED)
    assert any("長野県 の記録だけを変更できます" in i.value for i in at.info)
    errors = _problems(at)
    assert "都道府県『茨城県』はこの取込の範囲（長野県）の外です" in set(errors["理由"])
    at.button(key="intake_load").click().run()
    assert query(db, "SELECT consultation_id FROM consultations WHERE consultation_id LIKE 'C-SCOPE-%'") == \
        [("C-SCOPE-NG",)]


def test_the_url_and_forged_widgets_cannot_widen_the_scope(steward):
    """A URL naming 長野県 (the filters' parameters and a forged scope token) and a forged choice in the rejected-rows
    list: the load is still 茨城県's, and no 長野県 row is shown."""
    db = steward
    at = steward_page(**{"都道府県": "長野県", "コンソーシアム": "長野県DX支援コミュニティ"})
    assert any("茨城県 の記録だけを変更できます" in i.value for i in at.info)
    at = _upload(at, MIXED_NAME, MIXED)
    at.button(key="intake_load").click().run()
    assert query(db, "SELECT count(*) FROM consultations WHERE consultation_id = 'C-SCOPE-NG'") == [(0,)]
    forged = open_page(INTAKE_PAGE, dx_scope="eyJwIjpudWxsfQ.forged")
    forged.user = {"email": STEWARD}
    forged.run()
    assert not forged.get("file_uploader") and not forged.dataframe
    # an unrestricted load whose only rejected rows are 長野県's: not in the steward's list, and a forged choice of
    # it shows nothing
    files = [(f"相談記録_{i}.csv", csv_text(HEADERS["consultations"], [con(f"C-NG-{i}", "長野県", 相談日="2024-02-30")])
              .encode("utf-8")) for i in range(1)]
    v = intake.validate_uploads(files, db)
    assert intake.load_validated(v, db).loaded
    nagano_load = query(db, "SELECT max(load_id) FROM rejected_rows")[0][0]
    at = steward_page()
    options = at.selectbox(key="intake_rejected_load").options
    assert all(f"取込 {nagano_load}（" not in o for o in options)
    states = WidgetStates()
    states.CopyFrom(at._tree.get_widget_states())
    forged_ids = [w for w in states.widgets if w.id.endswith("intake_rejected_load")]
    assert forged_ids
    for w in forged_ids:          # the choice travels as its label: one naming the load outside the list
        w.string_value = f"取込 {nagano_load}（2024-01-01 00:00）相談記録_0.csv — 不合格 1 行"
    at = at._run(states)
    assert not at.exception
    assert not any("C-NG-0" in str(d.value.to_dict()) for d in at.dataframe)
    assert not [b for b in at.get("download_button") if "取込" + str(nagano_load) in str(b.proto)]


def test_admin_under_a_deployment_bound_is_scoped_the_same_way(page_db, monkeypatch):
    monkeypatch.setenv("DX_ALLOWED_PREFECTURES", "茨城県")
    before = outside(page_db, IB_ONLY)
    at = run_page(INTAKE_PAGE)
    assert any("茨城県 の記録だけを変更できます" in i.value for i in at.info)
    at = _upload(at, MIXED_NAME, MIXED)
    at.button(key="intake_load").click().run()
    assert not at.exception
    assert outside(page_db, IB_ONLY) == before
    assert query(page_db, "SELECT consultation_id FROM consultations WHERE consultation_id LIKE 'C-SCOPE-%'") == \
        [("C-SCOPE-IB",)]
    assert any("取消はできません" in c.value for c in at.caption)     # undo stays unrestricted admins' only
