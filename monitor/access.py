"""Sign-in, grants and the scope of one session.

One setting, ``DX_AUTH``:

- ``none`` (default): no sign-in; ``make run`` listens on 127.0.0.1 only and the sidebar says so. The scope is the
  deployment's (``DX_ALLOWED_PREFECTURES``), every role is allowed (the person at this computer owns the files).
- ``oidc``: Streamlit's own ``st.login`` / ``st.user`` / ``st.logout`` (Authlib) against the provider configured in
  ``.streamlit/secrets.toml`` ``[auth]``; a sign-in older than ``DX_SESSION_MAX_HOURS`` (12) must sign in again.
- ``proxy``: an authenticating reverse proxy sets a header that Streamlit maps into ``st.user["email"]``
  (``server.trustedUserHeaders``, e.g. ``{"X-Remote-User" = "email"}``); the app must then listen on 127.0.0.1 only.

Never both: oidc refuses to run with ``server.trustedUserHeaders`` set (a browser could send the header itself and
override the signed-in identity), proxy refuses to run with an ``[auth]`` section.

Then the grants file (etl/grants.py) decides: no grant, an expired grant or a grants file with errors → a Japanese
message and no data. The session's scope is the deployment's bound ∩ the grant's prefectures (a consortium counts as
its home prefecture). ``scope_bound`` is what monitor.filters.allowed_prefectures asks, so monitor/queries.py
enforces the session's scope everywhere it enforced the deployment's.

The 報告 PDF is printed by a second app process that Chromium opens: the scope goes there as a short-lived
HMAC-signed token (``DX_SCOPE_SECRET``, or a random secret of this process handed to the child), never as a plain
URL parameter. The pure helpers come first; the Streamlit calls are in the last section.
"""
from __future__ import annotations

import base64
import contextvars
import getpass
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from etl import audit
from monitor.read import filters as _filters
from monitor.read.filters import allowed_prefectures, describe_filters
from etl.grants import (
    ROLE_LABELS, Grant, find_grant, grants_changes, grants_path, grants_summary, read_grants, role_at_least,
)

ENV_MODE = "DX_AUTH"
ENV_MAX_HOURS = "DX_SESSION_MAX_HOURS"
ENV_SECRET = "DX_SCOPE_SECRET"
MODES = ("none", "oidc", "proxy")
TOKEN_PARAM = "dx_scope"
TOKEN_TTL = 300          # seconds a PDF token is valid
NOTHING: tuple[str, ...] = ()     # a scope that shows no record


class AccessSettingError(ValueError):
    """A sign-in setting the app cannot use (Japanese message, for the screen)."""


class TokenInvalid(ValueError):
    """A scope token that is forged, damaged or expired (Japanese message)."""


@dataclass(frozen=True)
class Access:
    who: str                          # e-mail, or a description ("ローカル利用（user）", "PDF出力（…）")
    role: str                         # viewer / steward / admin
    scope: tuple[str, ...] | None     # prefectures; None: the deployment's bound, no narrower
    mode: str = "none"

    def describe(self) -> str:
        where = "すべて（この配置の範囲内）" if self.scope is None else ("、".join(self.scope) or "なし")
        return f"{ROLE_LABELS.get(self.role, self.role)}・閲覧範囲: {where}"


# ── pure helpers ────────────────────────────────────────────────────────────

def auth_mode(env: dict | None = None) -> str:
    raw = (os.environ if env is None else env).get(ENV_MODE, "").strip().lower() or "none"
    if raw not in MODES:
        raise AccessSettingError(f"設定 {ENV_MODE}「{raw}」は none / oidc / proxy のどれかにしてください。"
                                 "設定を直すまで、データは表示しません。")
    return raw


def auth_mode_or_none() -> str | None:
    """auth_mode(), or None when the setting cannot be read."""
    try:
        return auth_mode()
    except AccessSettingError:
        return None


def max_age_seconds(env: dict | None = None) -> float:
    raw = (os.environ if env is None else env).get(ENV_MAX_HOURS, "").strip() or "12"
    try:
        hours = float(raw)
    except ValueError:
        hours = -1
    if not 0 < hours <= 24 * 30:
        raise AccessSettingError(f"設定 {ENV_MAX_HOURS}「{raw}」は 0 より大きく 720 以下の時間数にしてください。")
    return hours * 3600


def signed_in_too_long_ago(issued_at, now: float, max_age: float) -> bool:
    """True when the sign-in time (the ID token's ``iat``, seconds) is unknown or older than ``max_age``."""
    try:
        iat = float(issued_at)
    except (TypeError, ValueError):
        return True
    return now - iat > max_age or iat > now + 300


def effective_scope(bound: tuple[str, ...] | None, granted: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The deployment's bound ∩ the grant (None = no limit from that side); () shows nothing."""
    if bound is None:
        return None if granted is None else tuple(granted)
    if granted is None:
        return tuple(bound)
    return tuple(p for p in bound if p in granted)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_scope(scope: tuple[str, ...] | None, who: str, secret: bytes, *, now: float | None = None,
               ttl: float = TOKEN_TTL) -> str:
    payload = json.dumps({"p": None if scope is None else list(scope), "who": who,
                          "exp": int((time.time() if now is None else now) + ttl)},
                         ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    mac = hmac.new(secret, payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify_scope(token: str, secret: bytes, *, now: float | None = None) -> tuple[tuple[str, ...] | None, str]:
    """(scope, who) of a token made by sign_scope with ``secret``; TokenInvalid otherwise."""
    try:
        body, mac = str(token).split(".")
        payload = _unb64(body)
        given = _unb64(mac)
    except (ValueError, TypeError):
        raise TokenInvalid("印刷用の閲覧範囲の印が読めません。") from None
    if not hmac.compare_digest(hmac.new(secret, payload, hashlib.sha256).digest(), given):
        raise TokenInvalid("印刷用の閲覧範囲の印が正しくありません（書き換えられたか、別のサーバーのものです）。")
    data = json.loads(payload)
    if (time.time() if now is None else now) > data["exp"]:
        raise TokenInvalid("印刷用の閲覧範囲の印の有効期限が切れています。もう一度 PDF を作ってください。")
    scope = data["p"]
    return (None if scope is None else tuple(str(p) for p in scope)), str(data["who"])


_PROCESS_SECRET = secrets.token_hex(32)     # when DX_SCOPE_SECRET is unset: this process's own, handed to its child


def _secret_text() -> str:
    return os.environ.get(ENV_SECRET, "") or _PROCESS_SECRET


def scope_secret() -> bytes:
    return _secret_text().encode("utf-8")


def child_env() -> dict[str, str]:
    """What a child app process (the PDF renderer) needs to verify this process's tokens."""
    return {ENV_SECRET: _secret_text()}


# ── the session registry: which Access each Streamlit session has (server side; no widget can set it) ─────

_SESSIONS: OrderedDict[str, Access] = OrderedDict()
_LOCK = threading.Lock()
_CARRIED: contextvars.ContextVar[Access | None] = contextvars.ContextVar("dx_access", default=None)
_MAX_SESSIONS = 5000


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx  # noqa: PLC0415
    ctx = get_script_run_ctx(suppress_warning=True)
    return None if ctx is None else ctx.session_id


def _under_streamlit() -> bool:
    from streamlit import runtime  # noqa: PLC0415
    return runtime.exists()


def register(access: Access) -> None:
    sid = _session_id()
    if sid is None:
        return
    with _LOCK:
        _SESSIONS[sid] = access
        _SESSIONS.move_to_end(sid)
        while len(_SESSIONS) > _MAX_SESSIONS:
            _SESSIONS.popitem(last=False)


def current() -> Access | None:
    carried = _CARRIED.get()
    if carried is not None:
        return carried
    sid = _session_id()
    if sid is None:
        return None
    with _LOCK:
        return _SESSIONS.get(sid)


def carry(fn):
    """``fn`` run later (a download's deferred callable, on a thread of its own) with this session's access."""
    access = current()
    if access is None:       # no gate passed: the deployment's bound without sign-in, else nothing
        none_mode = auth_mode_or_none() == "none"
        access = Access(who(), "admin", None, "none") if none_mode else Access("（不明）", "viewer", NOTHING, "unknown")

    def run(*args, **kwargs):
        reset = _CARRIED.set(access)
        try:
            return fn(*args, **kwargs)
        finally:
            _CARRIED.reset(reset)
    return run


def scope_bound(bound: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The prefectures this caller may see, given the deployment's ``bound`` (monitor.filters.allowed_prefectures).
    Without sign-in (DX_AUTH=none), or outside a Streamlit server (the command line), the bound itself. With
    sign-in: the session's scope ∩ the bound; nothing for a session that has not passed the gate, and nothing for
    code running on a server thread without a session (fail closed)."""
    try:
        mode = auth_mode()
    except AccessSettingError:
        return NOTHING
    carried = _CARRIED.get()
    if mode == "none" and carried is None:
        return bound
    access = current()
    if access is None:
        sid = _session_id()
        if sid is None and not _under_streamlit():
            return bound                  # the command line, a test outside any app
        return NOTHING
    return effective_scope(bound, access.scope)


def role_allows(needed: str) -> bool:
    if auth_mode() == "none":
        return True
    access = current()
    return access is not None and role_at_least(access.role, needed)


def who() -> str:
    access = current()
    if access is not None:
        return access.who
    try:
        return f"ローカル利用（{getpass.getuser()}）"
    except (KeyError, OSError):
        return "ローカル利用"


def token_params() -> dict[str, str]:
    """The URL parameter that carries this caller's scope to the PDF renderer ({} without sign-in)."""
    if auth_mode() == "none":
        return {}
    return {TOKEN_PARAM: sign_scope(allowed_prefectures(), f"PDF出力（{who()}）", scope_secret())}


def log(action: str, what="", filters="", outcome: str = "") -> None:
    """An audit row for this session's person. An audit file that cannot be written stops the action: on a page
    with a Japanese message, on a download's thread by raising (Streamlit then says the file could not be made)."""
    try:
        audit.record(who(), action, what, filters, outcome)
    except audit.AuditUnavailable as exc:
        if _session_id() is None:
            raise
        _stop(str(exc))


_GRANTS: dict = {}


def grants() -> tuple[list[Grant], list[str]]:
    """The grants file, read again when it changes (path, mtime, size)."""
    path = grants_path()
    try:
        st_ = path.stat()
        key = (str(path), st_.st_mtime_ns, st_.st_size)
    except OSError:
        key = (str(path), None, None)
    if key not in _GRANTS:
        found, errors, _ = read_grants(path)
        _GRANTS.clear()
        _GRANTS[key] = (found, errors)
        audit_grants_change(path, found, errors)
    return _GRANTS[key]


GRANTS_WHO = "（付与ファイル）"


def audit_grants_change(path: Path, found: list[Grant], errors: list[str], audit_file=None) -> bool:
    """An audit row when the grants file differs from the one the trail last saw (by its content: every server
    process reads the file, the trail gets one row per change). Returns whether a row was written."""
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        digest = "（なし）"
    try:
        last = audit.read(audit_file, action="grants_changed", limit=1)
        previous = json.loads(last[0]["what"]) if last else None
        if previous is not None and previous.get("sha256") == digest:
            return False
        summary = grants_summary(found)
        outcome = grants_changes(previous.get("grants") if previous else None, summary)
        if errors:
            outcome += f"（誤り {len(errors):,} 件: 付与ファイルに誤りがある間は誰もサインインできません）"
        audit.record(GRANTS_WHO, "grants_changed", {"file": str(path), "sha256": digest, "grants": summary}, "",
                     outcome, path=audit_file)
        return True
    except (audit.AuditUnavailable, ValueError, KeyError, TypeError, AttributeError):
        return False      # the trail's own fault is reported where an action needs it (sign-in, load, export)


# ── the gate (Streamlit) ────────────────────────────────────────────────────

STATE_LOGGED = "_dx_access_logged"


def _stop(message: str, *, kind: str = "error") -> None:
    import streamlit as st  # noqa: PLC0415
    from monitor.plain import md_escape  # noqa: PLC0415
    (st.error if kind == "error" else st.info)(md_escape(message))
    st.stop()


def _log_once(access_key: str, action: str, what: str = "", outcome: str = "", who_: str | None = None) -> None:
    import streamlit as st  # noqa: PLC0415
    if st.session_state.get(STATE_LOGGED) == access_key:
        return
    st.session_state[STATE_LOGGED] = access_key
    try:
        audit.record(who_ or who(), action, what, "", outcome)
    except audit.AuditUnavailable as exc:
        _stop(str(exc))


def _auth_configured() -> bool:
    import streamlit as st  # noqa: PLC0415
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _identity(mode: str) -> str:
    """The signed-in person's e-mail, or stop with the sign-in page / a message."""
    import streamlit as st  # noqa: PLC0415
    if mode == "oidc":
        if st.get_option("server.trustedUserHeaders"):
            _stop("設定が矛盾しています: DX_AUTH=oidc と server.trustedUserHeaders は同時に使えません"
                  "（ブラウザーが送るヘッダーでサインインを上書きできてしまいます）。管理者が設定を直すまで、データは表示しません。")
        if not _auth_configured():
            _stop("DX_AUTH=oidc ですが、.streamlit/secrets.toml に [auth] がありません。管理者が設定を直すまで、データは表示しません。")
        max_age = max_age_seconds()
        if not st.user.is_logged_in:
            st.info("このダッシュボードはサインインした人だけが見られます。")
            st.button("サインイン", key="dx_sign_in", on_click=st.login)
            st.stop()
        if signed_in_too_long_ago(st.user.get("iat"), time.time(), max_age):
            st.warning(f"サインインから {max_age / 3600:g} 時間を過ぎたため、もう一度サインインしてください。")
            st.button("もう一度サインイン", key="dx_sign_in_again", on_click=st.login)
            st.stop()
        if st.user.get("email_verified") is False:
            _stop("このメールアドレスは認証基盤で確認されていないため、サインインできません。")
        email = st.user.get("email")
    else:
        if _auth_configured():
            _stop("設定が矛盾しています: DX_AUTH=proxy と .streamlit/secrets.toml の [auth] は同時に使えません。"
                  "管理者が設定を直すまで、データは表示しません。")
        mapping = st.get_option("server.trustedUserHeaders")
        if not isinstance(mapping, dict) or "email" not in mapping.values():
            _stop("DX_AUTH=proxy ですが、server.trustedUserHeaders にメールアドレスのヘッダーがありません"
                  "（例: {\"X-Remote-User\" = \"email\"}）。管理者が設定を直すまで、データは表示しません。")
        email = st.user.get("email")
        if not email:
            _stop("リバースプロキシからサインインした人の情報が届いていません。プロキシを通して開いてください。")
    if not email:
        _stop("認証基盤からメールアドレスが届かないため、サインインできません（scope に email が要ります）。")
    return str(email).strip().lower()


def gate() -> Access:
    """The one gate every page passes (monitor.ui.page_setup): who is this, what may they see. Stops the page
    with a Japanese message (and no data) when the answer is nobody or nothing."""
    import streamlit as st  # noqa: PLC0415

    try:
        mode = auth_mode()
        max_age_seconds()
    except AccessSettingError as exc:
        _stop(str(exc))
    if mode == "none":
        access = Access(who(), "admin", None, "none")
        register(access)
        return access
    token = st.query_params.get(TOKEN_PARAM)
    if token:
        try:
            scope, holder = verify_scope(token, scope_secret())
        except TokenInvalid as exc:
            _stop(str(exc))
        access = Access(holder, "viewer", scope, mode)
        register(access)
        return access
    email = _identity(mode)
    found, errors = grants()
    if errors:
        _log_once(f"refused:{email}:grants", "sign_in_refused", "付与ファイルに誤り", "拒否", who_=email)
        _stop("付与ファイルに誤りがあるため、いまは誰もデータを見られません。管理者が "
              "python -m etl access check で確かめて直してください。")
    grant = find_grant(found, email)
    if grant is None or grant.expired():
        why = "付与なし" if grant is None else f"有効期限 {grant.valid_until:%Y-%m-%d} 切れ"
        _log_once(f"refused:{email}:{why}", "sign_in_refused", why, "拒否", who_=email)
        _sign_out_button(mode)
        _stop(f"{email} さんには、このダッシュボードの閲覧が許可されていません（{why}）。"
              "必要なら管理者に付与を依頼してください。")
    # the deployment's bound (DX_ALLOWED_PREFECTURES) is applied on top by allowed_prefectures (scope_bound)
    access = Access(email, grant.role, grant.prefectures, mode)
    register(access)
    _log_once(f"in:{email}:{access.describe()}", "sign_in", access.describe(), "許可")
    with st.sidebar:
        st.caption(f"サインイン中: {email}（{access.describe()}）".replace("*", "＊"))
        _sign_out_button(mode)
    return access


def _sign_out_button(mode: str) -> None:
    import streamlit as st  # noqa: PLC0415
    if mode == "oidc" and st.user.is_logged_in:
        st.button("サインアウト", key="dx_sign_out", on_click=st.logout)


def require_role(needed: str, what: str) -> None:
    """Stop the page (with a Japanese message and an audit row) unless this person's role is at least ``needed``."""
    if role_allows(needed):
        return
    access = current()
    try:
        log("admin_refused" if needed == "admin" else "load_refused", what, "", "拒否")
    except audit.AuditUnavailable:
        pass
    role = ROLE_LABELS.get(access.role, access.role) if access else "未サインイン"
    _stop(f"{what}は{ROLE_LABELS[needed]}だけが使えます（あなたの役割: {role}）。")


def sidebar_notice() -> str | None:
    """The sidebar's line on sign-in for the modes with sign-in (None for DX_AUTH=none: ui.serving_notice)."""
    try:
        mode = auth_mode()
    except AccessSettingError:
        return None
    if mode == "none":
        return None
    return ("サインインが必要です（認証基盤: OpenID Connect）。" if mode == "oidc"
            else "サインインが必要です（認証するリバースプロキシ経由）。")


def stamp(filters=None) -> str:
    """Filters as text for an audit row."""
    if filters is None:
        return ""
    try:
        return describe_filters(filters)
    except Exception:  # noqa: BLE001 - never lose the row over its description
        return str(filters)



def audited(action: str, what: str, fn, filters=None):
    """``fn`` (a download's data callable, run on click on a server thread) with this session's access carried
    to it and an audit row written first: no audit row, no file."""
    filters_text = stamp(filters)

    def run():
        log(action, what, filters_text)
        return fn()
    return carry(run)


_filters.set_scope(scope_bound)      # every query from now on follows the session's scope
