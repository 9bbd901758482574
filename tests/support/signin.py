"""Sign-in helpers for the browser tests: a grants file, a real OpenID Connect provider (PyPI's oidc-provider-mock,
a Flask app on a free loopback port in a thread of the test process), the secrets file that points Streamlit's
st.login at it, signing in through the provider's own form in Chromium, and 概要's figures read from the DOM."""
from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Iterator

GRANTS = """\
[[grant]]
email = "ibaraki@example.jp"
role = "viewer"
prefectures = ["茨城県"]

[[grant]]
email = "nagano@example.jp"
role = "viewer"
consortia = ["長野県DX支援コミュニティ"]

[[grant]]
email = "expired@example.jp"
role = "viewer"
prefectures = ["茨城県"]
valid_until = 2020-03-31
"""
PEOPLE = {"ibaraki@example.jp": "茨城県", "nagano@example.jp": "長野県"}
OTHER = {"茨城県": "長野県", "長野県": "茨城県"}
HOME_CONSORTIUM = {"茨城県": "茨城県DX支援コミュニティ", "長野県": "長野県DX支援コミュニティ"}


def write_grants(folder: Path) -> Path:
    path = folder / "access.toml"
    path.write_text(GRANTS, encoding="utf-8")
    return path


@contextlib.contextmanager
def oidc_provider() -> Iterator[str]:
    """A real OIDC provider on localhost (Authlib accepts http://localhost redirects only); yields its base URL.
    Any client id is accepted; a person signs in by typing a subject, whose e-mail claim is that subject."""
    import oidc_provider_mock  # noqa: PLC0415  (a test-only package)
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def write_secrets(folder: Path, app_port: int, provider: str) -> Path:
    path = folder / "secrets.toml"
    path.write_text(f"""[auth]
redirect_uri = "http://localhost:{app_port}/oauth2callback"
cookie_secret = "browser-test-cookie-secret-0123456789"
client_id = "dx-monitor"
client_secret = "dx-monitor-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"
""", encoding="utf-8")
    return path


def sign_in(page, app: str, email: str) -> None:
    """On the sign-in page: サインイン → the provider's form → back at the app, signed in as ``email``."""
    from tests.support.browser import wait_for_page  # noqa: PLC0415
    page.get_by_role("button", name="サインイン").click()
    page.wait_for_selector('input[name="sub"]', timeout=30_000)
    page.fill('input[name="sub"]', email)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile("^" + re.escape(app) + r"/(?!oauth2callback)"), timeout=30_000)
    wait_for_page(page)


def _ints(text: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"\d[\d,]*", text)]


def dom_kpis(page) -> dict:
    """概要's figures as Chromium shows them (the same keys as tests/support/kpis.expected_kpis)."""
    m = {}
    for card in page.locator('[data-testid="stMetric"]').all():
        m[card.locator('[data-testid="stMetricLabel"]').inner_text().strip()] = \
            card.locator('[data-testid="stMetricValue"]').inner_text().strip()
    done, planned = _ints(m["伴走支援 実施回数 / 予定回数"])
    rate = m["金融機関同行率"]
    return {"支援企業数": _ints(m["支援企業数"])[0], "実施回数": done, "予定回数": planned,
            "DX計画書策定数": _ints(m["DX計画書策定数"])[0], "セミナー参加者数": _ints(m["セミナー参加者数"])[0],
            "相談件数": _ints(m["相談件数"])[0],
            "金融機関同行率": None if rate == "—" else float(rate.rstrip("%"))}


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


STEWARD_GRANTS = """\
[[grant]]
email = "ibaraki.steward@example.jp"
role = "steward"
prefectures = ["茨城県"]

[[grant]]
email = "nagano.steward@example.jp"
role = "steward"
consortia = ["長野県DX支援コミュニティ"]
"""


@contextlib.contextmanager
def proxy_sign_in(monkeypatch, folder: Path, grants: str = STEWARD_GRANTS) -> Iterator[Path]:
    """Sign-in for AppTest: DX_AUTH=proxy with a grants file, and the real option server.trustedUserHeaders (put back
    afterwards); the person is the page's ``at.user = {"email": …}`` (what the proxy's header carries)."""
    from streamlit import config  # noqa: PLC0415
    path = folder / "access.toml"
    path.write_text(grants, encoding="utf-8")
    monkeypatch.setenv("DX_AUTH", "proxy")
    monkeypatch.setenv("DX_ACCESS_FILE", str(path))
    before = config.get_option("server.trustedUserHeaders")
    config.set_option("server.trustedUserHeaders", {"X-Remote-User": "email"})
    try:
        yield path
    finally:
        config.set_option("server.trustedUserHeaders", before)
