"""Sign-in's pure parts: the grants file (etl/grants.py) and `python -m etl access check`, the scope of a session
(deployment bound ∩ grant), the PDF renderer's signed scope token, the sign-in age, the DX_AUTH setting, the
DX_ALLOWED_PREFECTURES parse that used to fail open, and the append-only audit file (etl/audit.py)."""
from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from etl import audit
from etl.grants import find_grant, grants_changes, parse_grants, role_at_least
from monitor import access
from monitor.read.filters import NO_PREFECTURE, AccessConfigError, allowed_prefectures, scoped_prefectures

ROOT = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 4, 1)

GOOD = """\
# 付与ファイル
[[grant]]
email = "Tanaka@Example.jp"
role = "viewer"
prefectures = ["茨城県"]

[[grant]]
email = "suzuki@example.jp"
role = "steward"
consortia = ["長野県DX支援コミュニティ"]
valid_until = 2027-03-31

[[grant]]
email = "boss@example.jp"
role = "admin"

[[grant]]
email = "zenkoku@example.jp"
role = "viewer"
prefectures = ["全国"]
"""


def test_a_good_grants_file():
    grants, errors, warnings = parse_grants(GOOD, today=TODAY)
    assert errors == [] and warnings == []
    tanaka = find_grant(grants, " tanaka@EXAMPLE.jp ")
    assert (tanaka.role, tanaka.prefectures, tanaka.line) == ("viewer", ("茨城県",), 2)
    suzuki = find_grant(grants, "suzuki@example.jp")
    assert suzuki.prefectures == ("長野県",)            # a consortium counts as its home prefecture
    assert suzuki.valid_until == dt.date(2027, 3, 31) and not suzuki.expired(TODAY)
    assert suzuki.expired(dt.date(2027, 4, 1))
    assert find_grant(grants, "boss@example.jp").prefectures is None      # an admin: every prefecture
    assert find_grant(grants, "zenkoku@example.jp").prefectures is None
    assert find_grant(grants, "nobody@example.jp") is None                # deny by default
    assert find_grant(grants, "") is None


@pytest.mark.parametrize("entry, line, reason", [
    ('email = "a@example.jp"\nrole = "boss"\nprefectures = ["茨城県"]', 2, "role「boss」"),
    ('email = "a@example.jp"\nrole = "viewer"\nprefectures = ["茨城"]', 2, "茨城県 のことですか"),
    ('email = "a@example.jp"\nrole = "viewer"', 2, "prefectures か consortia がありません"),
    ('email = "not-an-address"\nrole = "viewer"\nprefectures = ["茨城県"]', 2, "メールアドレスの形ではありません"),
    ('role = "viewer"\nprefectures = ["茨城県"]', 2, "email がありません"),
    ('email = "a@example.jp"\nrole = "viewer"\nconsortia = ["どこかの会"]', 2, "consortia.csv にない"),
    ('email = "a@example.jp"\nrole = "viewer"\nprefectures = ["茨城県"]\nvalid_until = "来年"', 2, "valid_until"),
    ('email = "a@example.jp"\nrole = "viewer"\nprefecture = ["茨城県"]', 2, "知らない項目 prefecture"),
])
def test_each_mistake_is_named_with_its_line(entry, line, reason):
    text = "# comment\n[[grant]]\n" + entry + "\n"
    grants, errors, _ = parse_grants(text, source="access.toml", today=TODAY)
    assert grants == [] and len(errors) >= 1
    assert errors[0].startswith(f"access.toml {line} 行目（1 番目の [[grant]]")
    assert any(reason in e for e in errors), errors


def test_duplicates_broken_toml_and_expiry():
    dup = '[[grant]]\nemail = "a@example.jp"\nrole = "viewer"\nprefectures = ["茨城県"]\n' * 2
    _, errors, _ = parse_grants(dup)
    assert len(errors) == 1 and "5 行目" in errors[0] and "重複" in errors[0]
    _, errors, _ = parse_grants('[[grant]]\nemail = "a@example.jp\n')
    assert len(errors) == 1 and "TOML として読めません（2 行目" in errors[0]
    grants, errors, warnings = parse_grants(
        '[[grant]]\nemail = "a@example.jp"\nrole = "viewer"\nprefectures = ["茨城県"]\nvalid_until = 2020-01-01\n',
        today=TODAY)
    assert errors == [] and len(grants) == 1 and "有効期限 2020-01-01 を過ぎています" in warnings[0]


def test_roles_are_ordered():
    assert role_at_least("admin", "steward") and role_at_least("steward", "steward")
    assert not role_at_least("viewer", "steward") and not role_at_least(None, "viewer")
    assert not role_at_least("boss", "viewer")


def test_access_check_verb(tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text('[[grant]]\nemail = "a@example.jp"\nrole = "boss"\nprefectures = ["茨城県"]\n', encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "DX_AUDIT_PATH": str(tmp_path / "audit.sqlite"), "HOME": str(tmp_path)}
    ok = subprocess.run([sys.executable, "-m", "etl", "access", "check", "--file", str(good)], cwd=ROOT, env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "正しく読めました（4 人" in ok.stdout
    ng = subprocess.run([sys.executable, "-m", "etl", "access", "check", "--file", str(bad)], cwd=ROOT, env=env,
                        capture_output=True, text=True)
    assert ng.returncode == 1 and "Traceback" not in ng.stderr
    assert "bad.toml 1 行目（1 番目の [[grant]]（a@example.jp））: role「boss」" in ng.stdout
    missing = subprocess.run([sys.executable, "-m", "etl", "access", "check", "--file", str(tmp_path / "none.toml")],
                             cwd=ROOT, env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "がありません" in missing.stdout
    rows = audit.read(tmp_path / "audit.sqlite", action="grants_check")
    assert [r["outcome"] for r in rows] == ["エラー 1 件", "エラー 1 件", "正しい"]


# ── scope ───────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("bound, granted, expected", [
    (None, None, None),
    (None, ("茨城県",), ("茨城県",)),
    (("茨城県", "長野県"), None, ("茨城県", "長野県")),
    (("茨城県", "長野県"), ("長野県", "東京都"), ("長野県",)),
    (("茨城県",), ("長野県",), ()),                 # nothing in common: nothing, never everything
])
def test_effective_scope(bound, granted, expected):
    assert access.effective_scope(bound, granted) == expected


def test_an_empty_scope_matches_no_prefecture():
    assert scoped_prefectures([], ()) == [NO_PREFECTURE]
    assert scoped_prefectures(["茨城県"], ()) == [NO_PREFECTURE]


@pytest.mark.parametrize("raw", [",", "、", " , 、 ", "，；"])
def test_a_list_without_names_is_an_error_not_everything(monkeypatch, raw):
    monkeypatch.setenv("DX_ALLOWED_PREFECTURES", raw)
    with pytest.raises(AccessConfigError, match="都道府県名がありません"):
        allowed_prefectures()


@pytest.mark.parametrize("raw", ["", "   "])
def test_unset_or_blank_is_no_restriction(monkeypatch, raw):
    monkeypatch.setenv("DX_ALLOWED_PREFECTURES", raw)
    assert allowed_prefectures() is None


def test_outside_a_server_the_command_line_gets_the_deployment_bound(monkeypatch):
    monkeypatch.setenv("DX_AUTH", "oidc")
    monkeypatch.setenv("DX_ALLOWED_PREFECTURES", "長野県")
    assert allowed_prefectures() == ("長野県",)
    carried = access.carry(allowed_prefectures)     # a deferred download without a session: nothing
    assert carried() == ()


# ── the token that carries a scope to the PDF renderer ──────────────────────

SECRET = b"k" * 32


@pytest.mark.parametrize("scope", [("茨城県",), ("茨城県", "長野県"), (), None])
def test_token_round_trip(scope):
    token = access.sign_scope(scope, "PDF出力（a@example.jp）", SECRET, now=1000)
    assert access.verify_scope(token, SECRET, now=1100) == (scope, "PDF出力（a@example.jp）")


def _tamper(token: str) -> str:
    body, mac = token.split(".")
    payload = access._unb64(body).replace("茨城県".encode(), "長野県".encode())
    return f"{access._b64(payload)}.{mac}"


@pytest.mark.parametrize("make, reason", [
    (lambda t: _tamper(t), "正しくありません"),
    (lambda t: t + "x", "正しくありません"),
    (lambda t: "garbage", "読めません"),
    (lambda t: t.split(".")[0], "読めません"),
])
def test_a_changed_token_is_refused(make, reason):
    token = access.sign_scope(("茨城県",), "x", SECRET, now=1000)
    with pytest.raises(access.TokenInvalid, match=reason):
        access.verify_scope(make(token), SECRET, now=1001)


def test_a_token_expires_and_belongs_to_its_secret():
    token = access.sign_scope(("茨城県",), "x", SECRET, now=1000, ttl=300)
    with pytest.raises(access.TokenInvalid, match="有効期限"):
        access.verify_scope(token, SECRET, now=1301)
    with pytest.raises(access.TokenInvalid, match="正しくありません"):
        access.verify_scope(token, b"another secret", now=1001)


def test_the_child_process_gets_the_secret_of_its_parent(monkeypatch):
    monkeypatch.delenv("DX_SCOPE_SECRET", raising=False)
    env = access.child_env()
    monkeypatch.setenv("DX_SCOPE_SECRET", env["DX_SCOPE_SECRET"])
    assert access.scope_secret() == env["DX_SCOPE_SECRET"].encode()


# ── settings and sign-in age ────────────────────────────────────────────────

@pytest.mark.parametrize("raw, mode", [("", "none"), ("none", "none"), ("OIDC", "oidc"), (" proxy ", "proxy")])
def test_auth_mode(raw, mode):
    assert access.auth_mode({"DX_AUTH": raw}) == mode


@pytest.mark.parametrize("raw", ["both", "oidc,proxy", "saml"])
def test_an_unknown_auth_mode_is_an_error(raw):
    with pytest.raises(access.AccessSettingError, match="none / oidc / proxy"):
        access.auth_mode({"DX_AUTH": raw})


@pytest.mark.parametrize("iat, now, too_old", [
    (1000, 1000 + 12 * 3600, False), (1000, 1001 + 12 * 3600, True), (None, 1000, True), ("x", 1000, True),
    (10_000, 1000, True),                  # issued in the future: not trusted
])
def test_sign_in_age(iat, now, too_old):
    assert access.signed_in_too_long_ago(iat, now, access.max_age_seconds({})) is too_old


@pytest.mark.parametrize("raw", ["0", "-1", "zwölf", "100000"])
def test_a_bad_max_age_is_an_error(raw):
    with pytest.raises(access.AccessSettingError):
        access.max_age_seconds({"DX_SESSION_MAX_HOURS": raw})


# ── the audit file ──────────────────────────────────────────────────────────

def test_audit_is_append_only_and_filterable(tmp_path):
    path = tmp_path / "audit.sqlite"
    audit.record("a@example.jp", "sign_in", "閲覧者・茨城県", path=path)
    audit.record("b@example.jp", "export", "概要.csv", {"年度": 2023}, path=path)
    audit.record("a@example.jp", "pdf", "報告.pdf", path=path)
    rows = audit.read(path)
    assert [r["action"] for r in rows] == ["pdf", "export", "sign_in"]
    assert [r["action"] for r in audit.read(path, who="A@EXAMPLE")] == ["pdf", "sign_in"]
    assert audit.read(path, action="export")[0]["filters"] == '{"年度": 2023}'
    assert audit.read(path, since=dt.date.today() + dt.timedelta(days=1)) == []
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchall()[0][0] == "wal"
    for sql in ("UPDATE audit SET who = 'x'", "DELETE FROM audit"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute(sql)
    con.close()
    assert len(audit.read(path)) == 3


def test_an_unwritable_audit_file_is_a_japanese_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(audit.AuditUnavailable, match="監査記録"):
        audit.record("a", "sign_in", path=blocker / "audit.sqlite")


# ── changes to the grants file in the audit trail ───────────────────────────

@pytest.mark.parametrize("before, after, expected", [
    (None, {"a@x.jp": "閲覧者・茨城県"}, "初回の読み込み: 付与 1 件"),
    ({"a@x.jp": "閲覧者・茨城県"}, {"a@x.jp": "閲覧者・茨城県", "b@x.jp": "管理者・すべての都道府県"},
     "追加: b@x.jp（管理者・すべての都道府県）"),
    ({"a@x.jp": "閲覧者・茨城県", "b@x.jp": "管理者・すべての都道府県"}, {"a@x.jp": "データ担当・茨城県"},
     "削除: b@x.jp；変更: a@x.jp（閲覧者・茨城県 → データ担当・茨城県）"),
    ({"a@x.jp": "閲覧者・茨城県"}, {"a@x.jp": "閲覧者・茨城県"}, "付与の内容は変わっていません（書式のみの変更）"),
])
def test_grants_changes_in_one_line(before, after, expected):
    assert grants_changes(before, after) == expected


def _grants_rows(audit_file: Path) -> list[dict]:
    """The trail's grants rows, read with plain SQL (not the module's own reader)."""
    con = sqlite3.connect(audit_file)
    try:
        return [dict(zip(("who", "what", "outcome"), r)) for r in
                con.execute("SELECT who, what, outcome FROM audit WHERE action = 'grants_changed' ORDER BY id")]
    finally:
        con.close()


def test_each_change_of_the_grants_file_is_one_audit_row(tmp_path):
    grants_file, audit_file = tmp_path / "access.toml", tmp_path / "audit.sqlite"

    def read_as_a_server_process():
        found, errors, _ = access.read_grants(grants_file)
        return access.audit_grants_change(grants_file, found, errors, audit_file=audit_file)

    grants_file.write_text(GOOD, encoding="utf-8")
    assert read_as_a_server_process() is True
    assert read_as_a_server_process() is False          # a second process reading the same file: no new row
    grants_file.write_text(GOOD + '\n# 同じ付与、コメントだけ\n', encoding="utf-8")
    assert read_as_a_server_process() is True
    grants_file.write_text(GOOD.replace('role = "viewer"\nprefectures = ["茨城県"]',
                                        'role = "steward"\nprefectures = ["茨城県"]'), encoding="utf-8")
    assert read_as_a_server_process() is True
    grants_file.write_text("[[grant]]\nemail = 'x'\n", encoding="utf-8")
    assert read_as_a_server_process() is True

    rows = _grants_rows(audit_file)
    assert [r["who"] for r in rows] == [access.GRANTS_WHO] * 4
    assert rows[0]["outcome"] == "初回の読み込み: 付与 4 件"
    assert rows[1]["outcome"] == "付与の内容は変わっていません（書式のみの変更）"
    assert rows[2]["outcome"] == "変更: tanaka@example.jp（閲覧者・茨城県 → データ担当・茨城県）"
    assert "削除: " in rows[3]["outcome"] and "誤り" in rows[3]["outcome"]
    assert str(grants_file) in rows[0]["what"]
