"""Configuration from the environment (the names are a fixed contract, see DESIGN.md)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from servicedesk.callcenter.callback_timing import CallbackPolicy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CALLING_HOURS = "09:00-20:00"
TWILIO_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")


def database_url(url: str) -> str:
    """Point plain ``postgres://`` and ``postgresql://`` URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _persistent_secret_key(instance_path: Path) -> str:
    """The embedded default's key, kept in the instance folder so sessions survive a restart."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def config_from_env(environ: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    public_url = environ.get("SERVICEDESK_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")
    twilio_credentials = all(environ.get(name) for name in TWILIO_SETTINGS)
    wants_simulation = environ.get("SERVICEDESK_TELEPHONY", "").lower() == "simulated"
    telephony = "twilio" if twilio_credentials and not wants_simulation else "simulated"
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(
            environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'servicedesk.db'}"
        ),
        "SECRET_KEY": environ.get("SECRET_KEY") or _persistent_secret_key(instance_path),
        "SERVICEDESK_PUBLIC_URL": public_url,
        "SERVICEDESK_TIMEZONE": environ.get("SERVICEDESK_TIMEZONE", "Asia/Shanghai"),
        "SERVICEDESK_TELEPHONY": telephony,
        "TWILIO_ACCOUNT_SID": environ.get("TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": environ.get("TWILIO_AUTH_TOKEN"),
        "TWILIO_FROM_NUMBER": environ.get("TWILIO_FROM_NUMBER"),
        **_callback_settings(environ),
        **_access_settings(environ),
        "SERVICEDESK_SCHEDULER_IN_PROCESS": environ.get("SERVICEDESK_SCHEDULER_IN_PROCESS") == "1",
        "SESSION_COOKIE_SECURE": public_url.startswith("https://"),
        "REMEMBER_COOKIE_SECURE": public_url.startswith("https://"),
    }


def _callback_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The satisfaction-callback settings, checked now: a bad value stops the start with a
    message naming the variable, instead of failing later when a repair is closed."""
    policy = CallbackPolicy.from_settings(
        calling_hours=environ.get("SERVICEDESK_CALLING_HOURS", DEFAULT_CALLING_HOURS),
        delay_minutes=environ.get("SERVICEDESK_CALLBACK_DELAY_MINUTES", "1440"),
        max_attempts=environ.get("SERVICEDESK_CALLBACK_ATTEMPTS", "3"),
        retry_gap_minutes=environ.get("SERVICEDESK_CALLBACK_RETRY_MINUTES", "120"),
    )
    return {
        "SERVICEDESK_CALLING_HOURS": str(policy.hours),
        "SERVICEDESK_CALLBACK_DELAY_MINUTES": int(policy.delay.total_seconds() // 60),
        "SERVICEDESK_CALLBACK_ATTEMPTS": policy.max_attempts,
        "SERVICEDESK_CALLBACK_RETRY_MINUTES": int(policy.retry_gap.total_seconds() // 60),
    }


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip() or str(default)
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _access_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """API token lifetime in days; failed sign-ins from one address before it is throttled
    (raise it when many people sign in from behind one address)."""
    return {
        "SERVICEDESK_TOKEN_DAYS": _positive_int(environ, "SERVICEDESK_TOKEN_DAYS", 365),
        "SERVICEDESK_LOGIN_ADDRESS_FAILURES": _positive_int(
            environ, "SERVICEDESK_LOGIN_ADDRESS_FAILURES", 5
        ),
    }


class BaseConfig:
    """Settings that do not come from the environment."""

    # Not pool_pre_ping: its ping is one more database round trip on every request (1 of 6 on
    # identify). Connections are renewed after 30 minutes instead; one that PostgreSQL dropped
    # fails one request, which invalidates the pool (see benchmarks/README.md, identify).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1800}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Each remember-me cookie carries the key of one sign-in (auth.models.LoginSession), which
    # lasts as long and ends on sign-out, password change and deactivation.
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    MAX_CONTENT_LENGTH = 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(PROJECT_ROOT / "translations")
    LANGUAGES = ("en", "zh")
    API_TITLE = "servicedesk"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_PAGE_SIZE = 50
    SERVICEDESK_SCHEDULER_IN_PROCESS = False


def instance_path_from_env(environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get("SERVICEDESK_INSTANCE_PATH") or PROJECT_ROOT / "instance")
