"""Where the local Chromium is, shared by the two things that drive it: the PDF export (monitor/report_pdf.py,
through Playwright) and the PNG export of charts (monitor/exports.py, through kaleido). No browser is ever
downloaded: DX_CHROMIUM names Debian's /usr/bin/chromium by default."""
from __future__ import annotations

import os

CHROMIUM = os.environ.get("DX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
    "--disable-default-apps", "--metrics-recording-only", "--no-default-browser-check",
]
INSTALL_HINT = ("PDF の作成にはローカルの Chromium と日本語フォントが必要です。"
                "Debian/Ubuntu では `sudo apt-get install chromium fonts-noto-cjk` でインストールしてください"
                f"（{CHROMIUM} を使います。別の場所にある場合は環境変数 DX_CHROMIUM で指定できます）。")


class PdfError(RuntimeError):
    """The PDF could not be made; the message (Japanese) says why and what to do."""


class ChromiumNotFound(PdfError):
    pass


def missing(path: str = CHROMIUM) -> str | None:
    """None when ``path`` is an executable file; otherwise the Japanese sentence saying it is missing and how to
    install it."""
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return None
    return f"Chromium が見つかりません（{path}）。" + INSTALL_HINT
