"""Sign-in in real Chromium (Debian's /usr/bin/chromium via Playwright) against a real `streamlit run serve.py` on the
sample database, with the grants of tests/support/signin.py (茨城県 for one person, 長野県's consortium for another):

- DX_AUTH=oidc: a real OpenID Connect provider (oidc-provider-mock) runs on a free localhost port; each person signs
  in through its form (st.login) and sees 概要's figures of their own prefecture only — equal to plain SQL over the
  record tables for that prefecture (tests/support/oracle.py) —; signed out, or signed in without a grant, no data.
- DX_AUTH=proxy: the header a reverse proxy sets (server.trustedUserHeaders); the same checks, a URL naming another
  prefecture does not widen the scope, one export (概要's CSV) holds only the person's consortium, the 報告 PDF
  rendered by the second app process carries the scope (a signed token; a forged one shows nothing), a viewer is
  refused on データ取込 and on the admin-only 監査記録, and every action is in the audit file.
"""
from __future__ import annotations

import io
import re
import unicodedata
import urllib.parse

import pytest

from etl import audit
from tests.support import browser as B
from tests.support.kpis import expected_kpis
from tests.support.signin import (
    HOME_CONSORTIUM, OTHER, PEOPLE, dom_kpis, main_text, oidc_provider, sign_in, write_grants, write_secrets,
)

pytestmark = pytest.mark.browser
FY = 2023
HEADER = "X-Remote-User"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("signin")


def _env(folder, mode: str, **extra) -> dict:
    return {"DX_AUTH": mode, "DX_ACCESS_FILE": str(write_grants(folder)), "DX_AUDIT_PATH": str(folder / f"{mode}.sqlite"),
            "DX_ALLOWED_PREFECTURES": "", **extra}


@pytest.fixture(scope="module")
def proxy_app(folder, sample_db_master):
    env = _env(folder, "proxy", STREAMLIT_SERVER_TRUSTED_USER_HEADERS=f'{{"{HEADER}": "email"}}')
    with B.streamlit_server(sample_db_master, env=env, log_path=folder / "proxy.log") as base:
        yield base


@pytest.fixture(scope="module")
def oidc_app(folder, sample_db_master):
    port = B.free_port()
    with oidc_provider() as provider:
        env = _env(folder, "oidc", STREAMLIT_SECRETS_FILES=str(write_secrets(folder, port, provider)))
        with B.streamlit_server(sample_db_master, port=port, env=env, log_path=folder / "oidc.log"):
            yield f"http://localhost:{port}"        # st.login's redirect_uri is on localhost


def _open(chromium, url: str, email: str | None = None):
    context = chromium.new_context(viewport={"width": 1400, "height": 2400}, accept_downloads=True,
                                   extra_http_headers={HEADER: email} if email else {})
    outside = B.block_outside_requests(context)
    page = context.new_page()
    page.goto(url)
    B.wait_for_page(page)
    return context, page, outside


def _overview(base: str, **query) -> str:
    return f"{base}/?{urllib.parse.urlencode({'年度': FY, **query})}"


def _assert_scope(page, db, prefecture: str) -> None:
    assert not page.locator(B.EXCEPTION).count()
    assert dom_kpis(page) == expected_kpis(db, FY, prefecture)
    assert f"閲覧範囲: {prefecture}" in main_text(page)


def _assert_no_data(page, message: str) -> None:
    text = main_text(page)
    assert message in text.replace("\u2060", ""), text[:500]
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('[data-testid="stDataFrame"], [data-testid="stPlotlyChart"]').count() == 0


# ── OpenID Connect ──────────────────────────────────────────────────────────

def test_oidc_two_people_each_see_their_own_prefecture(chromium, oidc_app, sample_db_master):
    for email, prefecture in PEOPLE.items():
        context, page, outside = _open(chromium, _overview(oidc_app))
        try:
            _assert_no_data(page, "サインインした人だけが見られます")
            sign_in(page, oidc_app, email)
            page.goto(_overview(oidc_app))         # the provider sends the browser back to the app's root
            B.wait_for_page(page)
            _assert_scope(page, sample_db_master, prefecture)
            assert email in page.locator('[data-testid="stSidebar"]').inner_text()
            # blocked, and only the test provider's own form asks for it (its stylesheet); the app asks nothing
            assert all(u.startswith("https://cdn.jsdelivr.net/npm/@picocss/") for u in outside), outside
        finally:
            context.close()


def test_oidc_without_a_grant_sees_nothing(chromium, oidc_app, folder):
    for email, why in (("stranger@example.jp", "付与なし"), ("expired@example.jp", "有効期限 2020-03-31 切れ")):
        context, page, _ = _open(chromium, _overview(oidc_app))
        try:
            sign_in(page, oidc_app, email)
            _assert_no_data(page, f"{email} さんには、このダッシュボードの閲覧が許可されていません（{why}）")
        finally:
            context.close()
    rows = audit.read(folder / "oidc.sqlite")
    assert {(r["who"], r["action"]) for r in rows} >= {
        ("ibaraki@example.jp", "sign_in"), ("nagano@example.jp", "sign_in"),
        ("stranger@example.jp", "sign_in_refused"), ("expired@example.jp", "sign_in_refused")}


# ── behind an authenticating proxy ──────────────────────────────────────────

@pytest.mark.parametrize("email", list(PEOPLE))
def test_proxy_each_person_sees_their_scope_and_a_url_does_not_widen_it(chromium, proxy_app, sample_db_master, email):
    prefecture = PEOPLE[email]
    context, page, outside = _open(chromium, _overview(proxy_app), email)
    try:
        _assert_scope(page, sample_db_master, prefecture)
        page.goto(_overview(proxy_app, **{"都道府県": OTHER[prefecture]}))       # tampering with the URL
        B.wait_for_page(page)
        _assert_scope(page, sample_db_master, prefecture)
        assert f"URLの都道府県「{OTHER[prefecture]}」は閲覧範囲外のため、無視しました。" in main_text(page)
        with page.expect_download() as info:
            page.get_by_role("button", name="CSV（コンソーシアム別の比較）").click()
        csv = info.value.path().read_text(encoding="utf-8-sig")
        assert HOME_CONSORTIUM[prefecture] in csv and HOME_CONSORTIUM[OTHER[prefecture]] not in csv
        assert outside == []
    finally:
        context.close()


def test_proxy_without_the_header_or_a_grant_sees_nothing(chromium, proxy_app):
    for email, message in ((None, "リバースプロキシからサインインした人の情報が届いていません"),
                           ("stranger@example.jp", "stranger@example.jp さんには、このダッシュボードの閲覧が許可されていません")):
        for url in (_overview(proxy_app), f"{proxy_app}/{urllib.parse.quote('報告')}?年度={FY}"):
            context, page, _ = _open(chromium, url, email)
            try:
                _assert_no_data(page, message)
            finally:
                context.close()


def test_proxy_a_viewer_is_refused_where_a_steward_or_an_admin_is_needed(chromium, proxy_app, folder):
    for page_name, message in (("データ取込", "データ取込はデータ担当だけが使えます（あなたの役割: 閲覧者）"),
                               ("監査記録", "監査記録は管理者だけが使えます（あなたの役割: 閲覧者）")):
        context, page, _ = _open(chromium, f"{proxy_app}/{urllib.parse.quote(page_name)}", "ibaraki@example.jp")
        try:
            _assert_no_data(page, message)
            assert page.locator('[data-testid="stFileUploader"]').count() == 0
        finally:
            context.close()
    rows = audit.read(folder / "proxy.sqlite", who="ibaraki@example.jp")
    actions = {r["action"] for r in rows}
    assert {"sign_in", "load_refused", "admin_refused"} <= actions


def test_proxy_pdf_carries_the_scope_and_a_forged_token_shows_nothing(chromium, proxy_app, folder):
    from pypdf import PdfReader  # noqa: PLC0415
    context, page, _ = _open(chromium, f"{proxy_app}/{urllib.parse.quote('報告')}?年度={FY}", "nagano@example.jp")
    try:
        with page.expect_download(timeout=180_000) as info:
            page.get_by_role("button", name="PDF（印刷レイアウト）").click()
        text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(info.value.path().read_bytes())).pages)
        # the PDF's text layer spells 長 with the radical ⻑ (U+2ED1), which NFKC leaves alone
        text = unicodedata.normalize("NFKC", re.sub(r"\s+", "", text)).replace("\u2ed1", "長")
        assert "閲覧範囲:長野県" in text
        assert "茨城県DX支援コミュニティ" not in text
        # a token that was not signed by this server (or was edited) opens nothing
        forged = "eyJwIjpudWxsLCJ3aG8iOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwfQ.AAAA"
        page.goto(f"{proxy_app}/{urllib.parse.quote('報告')}?年度={FY}&print=1&dx_scope={forged}")
        B.wait_for_page(page)
        _assert_no_data(page, "印刷用の閲覧範囲の印が正しくありません")
    finally:
        context.close()
    rows = audit.read(folder / "proxy.sqlite", action="pdf")
    assert rows and rows[0]["who"] == "nagano@example.jp"


def test_oidc_a_sign_in_older_than_the_max_age_must_sign_in_again(chromium, folder, sample_db_master):
    port = B.free_port()
    with oidc_provider() as provider:
        env = _env(folder, "oidc", STREAMLIT_SECRETS_FILES=str(write_secrets(folder, port, provider)),
                   DX_SESSION_MAX_HOURS="0.001", DX_AUDIT_PATH=str(folder / "short.sqlite"))     # 3.6 seconds
        with B.streamlit_server(sample_db_master, port=port, env=env, log_path=folder / "short.log"):
            app = f"http://localhost:{port}"
            context, page, _ = _open(chromium, _overview(app))
            try:
                sign_in(page, app, "ibaraki@example.jp")
                page.wait_for_timeout(4000)
                page.goto(_overview(app))
                B.wait_for_page(page)
                _assert_no_data(page, "サインインから 0.001 時間を過ぎたため、もう一度サインインしてください")
                assert page.get_by_role("button", name="もう一度サインイン").count() == 1
            finally:
                context.close()
