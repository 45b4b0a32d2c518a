"""Delivering the outbox: who a recipient is, and the SMTP and webhook senders.

``AddressBook`` turns a recipient reference into an address: a guest's email comes from the
contact vault (the only reader of it); staff roles (``supervisor:housekeeping@CH``,
``operations``, ``duty_manager@RH``...) and systems (``pms:rates``) from the ``notify``
routes of the settings, else the default route; ``email:<address>`` is a person who gave
their own address (a report's subscriber). A route is ``mailto:<address>`` (SMTP) or
an http(s) URL (a webhook whose body is signed: ``X-Innsight-Signature: sha256=<HMAC>``).

``Postman.deliver_due`` claims the due rows of the outbox and sends each: delivered, or
retried after ``backoff * 2**(attempt-1)``, or dead after ``max_attempts`` (and at once when
the address cannot exist: a guest with no contact details). Every delivery carries the
message's idempotency key (``Message-ID`` / ``Idempotency-Key``), so a receiver can drop the
one duplicate a sender crashing between the send and its record could cause.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import unquote, urlparse

import httpx
from pyarrow import fs

from lake.contact_vault import ContactVault
from operations.outbox import Outbox, Stored, now

SIGNATURE_HEADER = "X-Innsight-Signature"


class Undeliverable(Exception):
    """The message can never be delivered as addressed (no retry)."""


def sign(body: bytes, secret: str) -> str:
    """The signature header's value of a webhook body: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class AddressBook:
    routes: dict[str, str]
    default: str
    vault: ContactVault | None = None

    @classmethod
    def from_settings(cls, settings, vault: ContactVault | None = None) -> "AddressBook":
        routes = dict(settings.notify)
        if settings.rate_update_webhook:
            routes.setdefault("pms:rates", settings.rate_update_webhook)
        return cls(routes, settings.notify_default, vault)

    def route(self, recipient: str) -> str:
        """``mailto:<address>`` or a webhook URL."""
        if recipient.startswith("email:"):  # a person who asked for it (a report subscriber)
            return f"mailto:{recipient.removeprefix('email:')}"
        if recipient.startswith("guest:"):
            guest = recipient.removeprefix("guest:")
            contact = self.vault.get(guest) if self.vault else None
            if contact is None or not contact.email:
                raise Undeliverable(f"no email for guest {guest} in the contact vault "
                                    "(never ingested, or erased on request)")
            return f"mailto:{contact.email}"
        role, _, hotel = recipient.partition("@")
        for name in (recipient, role, role.split(":")[0]):
            if name in self.routes:
                return self._fill(self.routes[name], role, hotel)
        if recipient.startswith("pms:"):
            raise Undeliverable(f"no route for {recipient}: set INNSIGHT_RATE_UPDATE_WEBHOOK "
                                f"or INNSIGHT_NOTIFY")
        return self._fill(self.default, role, hotel)

    @staticmethod
    def _fill(route: str, role: str, hotel: str) -> str:
        return route.replace("{role}", role.replace(":", "-")).replace(
            "{hotel_code}", (hotel or "group").lower())

    def channel(self, recipient: str) -> str:
        if recipient.startswith(("guest:", "email:")):
            return "email"
        try:
            return "email" if self.route(recipient).startswith("mailto:") else "webhook"
        except Undeliverable:
            return "webhook"


@dataclass
class SmtpSender:
    """SMTP: ``smtp://[user:password@]host:port`` (STARTTLS when the server offers it) or
    ``smtps://`` (TLS from the start)."""

    url: str
    sender: str
    timeout: float = 10.0

    def send(self, address: str, message: Stored) -> None:
        u = urlparse(self.url)
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, address, message.subject
        mail["Message-ID"] = make_msgid(idstring=message.idempotency_key.replace(":", "."),
                                        domain="innsight")
        mail["X-Innsight-Idempotency-Key"] = message.idempotency_key
        payload = message.payload or {}
        if payload.get("html"):  # an HTML message (a report), with a line for text-only readers
            mail.set_content(f"{message.subject}\n\nThis message is HTML; any attachment "
                             "holds the same content.")
            mail.add_alternative(message.body, subtype="html")
        else:
            mail.set_content(message.body)
        for attachment in payload.get("attachments", []):
            # attached at sending time, from the storage that keeps it (not the outbox row)
            filesystem, path = fs.FileSystem.from_uri(attachment["uri"])
            with filesystem.open_input_stream(path) as f:
                main, _, sub = attachment["content_type"].partition("/")
                mail.add_attachment(f.read(), maintype=main, subtype=sub,
                                    filename=attachment["filename"])
        # after the body: making it multipart moves Content-* headers into the first part
        mail["Content-Language"] = message.language
        smtp = smtplib.SMTP_SSL if u.scheme == "smtps" else smtplib.SMTP
        with smtp(u.hostname or "127.0.0.1", u.port or (465 if u.scheme == "smtps" else 25),
                  timeout=self.timeout) as server:
            if u.scheme == "smtp" and server.has_extn("starttls"):
                server.starttls()
            if u.username:
                server.login(unquote(u.username), unquote(u.password or ""))
            server.send_message(mail)


@dataclass
class WebhookSender:
    secret: str
    timeout: float = 10.0
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    def send(self, url: str, message: Stored) -> None:
        body = json.dumps({
            "message_id": message.message_id, "idempotency_key": message.idempotency_key,
            "workflow": message.workflow, "recipient": message.recipient,
            "severity": message.severity, "language": message.language,
            "subject": message.subject, "text": message.body,
            **({"data": message.payload} if message.payload else {}),
        }, ensure_ascii=False, default=str).encode()
        r = self.client.post(url, content=body, headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret),
            "Idempotency-Key": message.idempotency_key})
        if r.status_code >= 300:
            raise RuntimeError(f"webhook {url} answered {r.status_code}: {r.text[:200]}")


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"sent {self.sent}, retrying {self.retrying}, dead {self.dead}"


@dataclass
class Postman:
    outbox: Outbox
    addresses: AddressBook
    smtp: SmtpSender
    webhooks: WebhookSender
    max_attempts: int = 8
    backoff_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings, outbox: Outbox, addresses: AddressBook) -> "Postman":
        return cls(outbox, addresses, SmtpSender(settings.smtp_url, settings.smtp_sender),
                   WebhookSender(settings.webhook_secret.get_secret_value()),
                   settings.outbox_max_attempts, settings.outbox_backoff_seconds)

    def retry_in(self, attempts_before: int) -> timedelta | None:
        """The wait before the next attempt after a failed one; None: give up."""
        if attempts_before + 1 >= self.max_attempts:
            return None
        return timedelta(seconds=self.backoff_seconds * 2 ** attempts_before)

    def deliver_due(self, budget_seconds: float = 30.0, at: datetime | None = None) -> DeliveryReport:
        """Send what is due, for at most about ``budget_seconds`` (a sensor tick's share)."""
        report, started = DeliveryReport(), time.monotonic()
        # A server found down is not tried again this round: its other messages go back
        # untouched (no attempt counted) and the next round probes it with one of them.
        down: set[str] = set()
        for message in self.outbox.claim(at=at):
            target = None
            try:
                route = self.addresses.route(message.recipient)
                target = "smtp" if route.startswith("mailto:") else route
                if target in down or time.monotonic() - started > budget_seconds:
                    self.outbox.release(message)
                    continue
                self._send(route, message)
            except Undeliverable as e:
                self.outbox.failed(message, str(e), None, at=at)
                report.dead += 1
                report.errors.append(f"{message.message_id}: {e}")
            except Exception as e:  # the server's problem: retry later
                if isinstance(e, (OSError, smtplib.SMTPException, httpx.TransportError)):
                    down.add(target)
                status = self.outbox.failed(message, f"{type(e).__name__}: {e}",
                                            self.retry_in(message.attempts), at=at)
                report.dead += status == "dead"
                report.retrying += status != "dead"
                report.errors.append(f"{message.message_id}: {type(e).__name__}: {e}")
            else:
                self.outbox.delivered(message, at=at or now())
                report.sent += 1
        return report

    def _send(self, route: str, message: Stored) -> None:
        if route.startswith("mailto:"):
            self.smtp.send(route.removeprefix("mailto:"), message)
        elif route.startswith(("http://", "https://")):
            self.webhooks.send(route, message)
        else:
            raise Undeliverable(f"route {route!r} of {message.recipient} is neither mailto: "
                                "nor an http(s) URL")
