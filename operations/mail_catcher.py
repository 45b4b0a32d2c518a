"""The embedded default's mail server: an SMTP server on the laptop that keeps every message.

``innsight serve`` starts it when ``INNSIGHT_SMTP_URL`` is its default
(smtp://127.0.0.1:8025), so the workflows' emails go somewhere a person can read without
any mail account: each message is a ``.eml`` file under ``var/mail/``, and
http://127.0.0.1:8026 lists them, newest first (``/health`` answers ``ok``). Point
``INNSIGHT_SMTP_URL`` at a real relay and it is not started.

    python -m operations.mail_catcher --smtp-port 8025 --http-port 8026 --dir var/mail
"""

from __future__ import annotations

import argparse
import html
import time
import uuid
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

from base.files import atomic_path


class Keeper:
    """aiosmtpd handler: each message received becomes one .eml file (written atomically)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        with atomic_path(self.folder / name) as tmp:
            tmp.write_bytes(envelope.original_content or envelope.content)
        return "250 OK kept"


def _header(message, name: str) -> str:
    return str(make_header(decode_header(message.get(name, ""))))


def listing(folder: Path, limit: int = 200) -> str:
    rows = []
    for path in sorted(folder.glob("*.eml"), reverse=True)[:limit]:
        m = message_from_bytes(path.read_bytes())
        rows.append("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in (
            path.name[:15], _header(m, "To"), _header(m, "Subject"))) + "</tr>")
    return ("<!DOCTYPE html><meta charset='utf-8'><title>Innsight mail</title>"
            f"<h1>Mail kept in {html.escape(str(folder))}</h1><table border=1 cellpadding=4>"
            "<tr><th>received</th><th>to</th><th>subject</th></tr>" + "".join(rows) + "</table>")


def serve(smtp_host: str, smtp_port: int, http_port: int, folder: Path) -> None:
    smtp = Controller(Keeper(folder), hostname=smtp_host, port=smtp_port)
    smtp.start()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = (b"ok" if self.path == "/health" else listing(folder).encode())
            self.send_response(200)
            self.send_header("Content-Type", "text/plain" if self.path == "/health"
                             else "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    try:
        ThreadingHTTPServer((smtp_host, http_port), Page).serve_forever()
    finally:
        smtp.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=8025)
    parser.add_argument("--http-port", type=int, default=8026)
    parser.add_argument("--dir", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    serve(args.host, args.smtp_port, args.http_port, args.dir)


if __name__ == "__main__":
    main()
