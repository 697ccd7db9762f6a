"""Sending one e-mail over SMTP (the server, sender and site address come from config)."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from . import config


def message_id(key: str, sender: str) -> str:
    """A Message-ID derived from the e-mail's key: a re-send carries the same id, so mail
    clients show one message even in the rare case we send twice (see send_pending)."""
    domain = sender.rsplit("@", 1)[-1] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build(key: str, to: str, subject: str, text: str) -> EmailMessage:
    """The e-mail as it goes out."""
    settings = config.settings()
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = to
    email["Subject"] = subject
    email["Date"] = formatdate(usegmt=True)
    email["Message-ID"] = message_id(key, settings.sender)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(text)
    return email


def enabled() -> bool:
    """Whether an SMTP server is configured."""
    return bool(config.settings().smtp_host)


def send(email: EmailMessage) -> None:
    """Hand the e-mail to the SMTP server; raises on any failure (the job retries)."""
    settings = config.settings()
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
    ) as server:
        server.send_message(email)


def absolute(link: str) -> str:
    """A link of the site as a full address for e-mails."""
    if not link or link.startswith(("http://", "https://")):
        return link
    return config.settings().base_url.rstrip("/") + "/" + link.lstrip("/")
