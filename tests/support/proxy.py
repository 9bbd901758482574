"""deploy/haproxy.cfg run for real on loopback: the deployed file with its global section replaced (log to stdout, no
chroot, user or stats socket), the redirecting :80 frontend dropped, the :443 bind moved to a free loopback port with
a throw-away self-signed certificate, and one server line per app process. Used by tests/test_deploy.py and by
benchmarks/bench_sessions.py (--processes)."""
from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HAPROXY = "/usr/sbin/haproxy"
HAPROXY_HINT = ("haproxy がありません（/usr/sbin/haproxy）。`scripts/setup.sh --system`（apt-get install haproxy）で"
                "入れてください。 / haproxy is missing: run `scripts/setup.sh --system` (apt-get install haproxy).")
CONFIG = ROOT / "deploy" / "haproxy.cfg"
_SERVER_LINE = re.compile(r"^(?P<indent>\s+)server (?P<name>app\d+) 127\.0\.0\.1:\d+ cookie (?P=name)(?P<rest>.*)$",
                          re.M)

# the proxy's certificate is self-signed: clients on loopback do not verify it
INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


def section(text: str, name: str) -> str:
    """The lines of section ``name`` (e.g. 'global', 'frontend dx_http'): up to the next unindented line."""
    m = re.search(rf"^{re.escape(name)}\n(?:(?:[ \t].*|)\n)*", text, re.M)
    if not m:
        raise ValueError(f"deploy/haproxy.cfg has no section `{name}`")
    return m.group(0)


def haproxy_config(proxy_port: int, ports: dict[str, int], cert: Path) -> str:
    """deploy/haproxy.cfg moved to loopback: the :443 bind on 127.0.0.1:``proxy_port`` with ``cert``, and its
    server lines replaced by one per entry of ``ports`` (name → the app process's port), each written like the
    deployed app1 line. Everything else (cookies, checks, timeouts, headers) is used as written."""
    text = CONFIG.read_text(encoding="utf-8")
    text = text.replace(section(text, "global"), "global\n    log stdout format raw local0 info\n\n")
    text = text.replace(section(text, "frontend dx_http"), "")
    text, n = re.subn(r"^(\s+)bind :443 ssl crt \S+", rf"\1bind 127.0.0.1:{proxy_port} ssl crt {cert}", text,
                      flags=re.M)
    if n != 1:
        raise ValueError("deploy/haproxy.cfg: expected one `bind :443 ssl crt …` line")
    lines = list(_SERVER_LINE.finditer(text))
    if [m["name"] for m in lines][:1] != ["app1"]:
        raise ValueError("deploy/haproxy.cfg: expected `server app1 127.0.0.1:… cookie app1` lines")
    first = lines[0]
    servers = "\n".join(f"{first['indent']}server {name} 127.0.0.1:{port} cookie {name}{first['rest']}"
                        for name, port in ports.items())
    return text[:first.start()] + servers + text[lines[-1].end():]


def self_signed(folder: Path) -> Path:
    """A PEM with a fresh self-signed certificate for 127.0.0.1 and its key (what haproxy's `crt` reads)."""
    from cryptography import x509  # noqa: PLC0415  (Authlib's dependency; only the proxy runs need it)
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    path = folder / "proxy.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return path
