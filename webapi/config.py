"""Settings: defined once here, with defaults, overridable from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with; see the README's table."""

    # An empty URI means: start the embedded database (SecantusDB) ourselves.
    mongodb_uri: str = ""
    db_name: str = "crm"
    data_dir: Path = PROJECT_ROOT / "var"
    embedded_db_port: int = 27018
    embedded_db_cache: str = ""  # WiredTiger cache of the embedded database; empty: its 1G
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    redis_url: str = ""
    bpmn_dir: Path = PROJECT_ROOT / "bpmn"
    max_bpmn_bytes: int = 2 * 1024 * 1024
    token_ttl_seconds: int = 8 * 3600
    token_rate_limit_per_minute: int = 20
    idempotency_ttl_seconds: int = 24 * 3600
    job_lease_seconds: int = 60  # a job whose worker died is taken up again after this
    retention_days: int = 365  # completed instances give up their workflow state after this
    # E-mail of notifications (mail/): no host means e-mails are recorded, never sent.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "crm@localhost"
    base_url: str = "http://127.0.0.1:8000"  # the site's address in e-mailed links
    testing: bool = False
    debug: bool = False  # CRM_DEBUG=1: local development (weak secrets and plain cookies allowed)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        """Read settings from CRM_* variables (and MONGODB_URI, REDIS_URL)."""
        return cls(
            mongodb_uri=_env("MONGODB_URI", ""),
            db_name=_env("CRM_DB_NAME", "crm"),
            data_dir=Path(_env("CRM_DATA_DIR", str(PROJECT_ROOT / "var"))),
            embedded_db_port=int(_env("CRM_EMBEDDED_DB_PORT", "27018")),
            embedded_db_cache=_env("CRM_EMBEDDED_DB_CACHE", ""),
            host=_env("CRM_HOST", "127.0.0.1"),
            port=int(_env("CRM_PORT", "8000")),
            secret_key=_env("CRM_SECRET_KEY", ""),
            redis_url=_env("REDIS_URL", ""),
            bpmn_dir=Path(_env("CRM_BPMN_DIR", str(PROJECT_ROOT / "bpmn"))),
            max_bpmn_bytes=int(_env("CRM_MAX_BPMN_BYTES", str(2 * 1024 * 1024))),
            token_ttl_seconds=int(_env("CRM_TOKEN_TTL_SECONDS", str(8 * 3600))),
            job_lease_seconds=int(_env("CRM_JOB_LEASE_SECONDS", "60")),
            retention_days=int(_env("CRM_RETENTION_DAYS", "365")),
            smtp_host=_env("CRM_SMTP_HOST", ""),
            smtp_port=int(_env("CRM_SMTP_PORT", "25")),
            smtp_from=_env("CRM_SMTP_FROM", "crm@localhost"),
            base_url=_env("CRM_BASE_URL", "http://127.0.0.1:8000"),
            debug=_env("CRM_DEBUG", "") in ("1", "true", "yes"),
        )

    def with_overrides(self, overrides: dict[str, Any] | None) -> Settings:
        """Return a copy with known fields replaced; unknown keys go to `extra`."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        direct = {k: v for k, v in overrides.items() if k in known}
        rest = {k: v for k, v in overrides.items() if k not in known}
        return replace(self, **direct, extra={**self.extra, **rest})

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept under the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
