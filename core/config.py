"""Settings.from_env(): the only place environment variables (and app secrets) are read."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.errors import ConfigError, unknown_choice
from core.labels import SCHEMAS, LabelSchema, get_schema
from core.text import parse_yes_no

MONGO_SCHEMES = ("mongodb://", "mongodb+srv://")
SQL_SCHEMES = ("postgresql://", "postgresql+psycopg2://", "postgres://", "sqlite:///")
RESIZE_MODES = ("pad", "crop")
MIN_COOKIE_KEY_BYTES = 32
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SECRET_PARAMETER = re.compile(r"(?i)([?&;][^=&;#]*(?:pass|pwd|secret|token|key)[^=&;#]*=)[^&;#]*")


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults a fresh checkout runs with."""

    mongo_uri: str | None = field(default=None, repr=False)  # may hold a password
    mongo_db: str = "cat_identifier"
    database_url: str | None = field(default=None, repr=False)
    data_dir: Path = Path("data")
    label_schema: str = "cat_phenotype"
    breeder_port: int = 8501
    admin_port: int = 8502
    api_port: int = 8503
    api_host: str = "127.0.0.1"  # the identify API: this machine only, unless told otherwise
    embedded_mongo_port: int | None = None
    admin_username: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    auth_cookie_key: str | None = field(default=None, repr=False)
    session_timeout_minutes: int = 30
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    max_upload_mb: int = 20
    resize_mode: str = "pad"
    backbone: str = "mobilenet_v2"
    backbone_weights: str | None = None
    backbone_fallback: str = "small_cnn"
    openverse_url: str = "https://api.openverse.org"
    google_api_key: str | None = field(default=None, repr=False)
    google_cse_id: str | None = None
    google_search_url: str = "https://www.googleapis.com/customsearch/v1"
    allow_private_hosts: bool = False  # web imports may fetch from private/local addresses
    identify_api_key: str | None = field(default=None, repr=False)
    show_recent_gallery: bool = False

    @property
    def schema(self) -> LabelSchema:
        return get_schema(self.label_schema)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def job_log_dir(self) -> Path:
        return self.data_dir / "logs"

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None
    ) -> Settings:
        """Read settings from the environment (which wins) and app secrets; ConfigError if bad."""
        source: dict[str, str] = {}
        for key, value in (secrets or {}).items():
            if isinstance(value, str | int | float | bool):
                source[key.upper()] = str(value)
        source.update(os.environ if env is None else env)
        values: dict[str, Any] = {}
        for spec in fields(cls):
            variable = ENV_NAMES[spec.name]
            raw = source.get(variable)
            if raw is None or raw.strip() == "":
                continue
            values[spec.name] = _parse(variable, raw.strip(), spec.type)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse values that cannot work, each with one sentence naming the variable."""
        if self.mongo_uri and not self.mongo_uri.startswith(MONGO_SCHEMES):
            raise ConfigError(
                f"MONGO_URI={_redact(self.mongo_uri)!r} is not a MongoDB URL; use "
                "mongodb://host:27017 or mongodb+srv://…, or unset it for the embedded server."
            )
        if self.database_url and not self.database_url.startswith(SQL_SCHEMES):
            raise ConfigError(
                f"DATABASE_URL={_redact(self.database_url)!r} is not a PostgreSQL or SQLite URL; "
                "use postgresql://user:password@host/db or sqlite:///path, or unset it."
            )
        if self.label_schema not in SCHEMAS:
            raise unknown_choice(f"LABEL_SCHEMA={self.label_schema!r}", SCHEMAS, error=ConfigError)
        if self.resize_mode not in RESIZE_MODES:
            raise unknown_choice(
                f"RESIZE_MODE={self.resize_mode!r}", RESIZE_MODES, error=ConfigError
            )
        for name in ("breeder_port", "admin_port", "api_port", "embedded_mongo_port"):
            port = getattr(self, name)
            if port is not None and not 1 <= port <= 65535:
                raise ConfigError(f"{ENV_NAMES[name]}={port} is not a port; use 1 to 65535.")
        for name in ("session_timeout_minutes", "max_failed_logins", "lockout_minutes"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"{ENV_NAMES[name]} must be at least 1, not {getattr(self, name)}."
                )
        if self.auth_cookie_key and len(self.auth_cookie_key.encode()) < MIN_COOKIE_KEY_BYTES:
            raise ConfigError(
                f"AUTH_COOKIE_KEY is {len(self.auth_cookie_key.encode())} bytes long; use at "
                f"least {MIN_COOKIE_KEY_BYTES} random bytes (python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))') or unset it for a key per start."
            )
        if not 1 <= self.max_upload_mb <= 1024:
            raise ConfigError(f"MAX_UPLOAD_MB={self.max_upload_mb} must be between 1 and 1024.")
        if self.backbone_weights and not Path(self.backbone_weights).is_file():
            raise ConfigError(
                f"BACKBONE_WEIGHTS={self.backbone_weights!r} is not a file; "
                "give the path of a saved weights file or unset it."
            )

    def ensure_data_dir(self) -> Path:
        """Create the data directory if needed and check it is writable."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            probe = self.data_dir / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as err:
            raise ConfigError(
                f"DATA_DIR={str(self.data_dir)!r} is not a writable folder ({err.strerror}); "
                "point it at a folder you can write to."
            ) from err
        return self.data_dir


ENV_NAMES: dict[str, str] = {
    "mongo_uri": "MONGO_URI",
    "mongo_db": "MONGO_DB",
    "database_url": "DATABASE_URL",
    "data_dir": "DATA_DIR",
    "label_schema": "LABEL_SCHEMA",
    "breeder_port": "BREEDER_PORT",
    "admin_port": "ADMIN_PORT",
    "api_port": "API_PORT",
    "api_host": "API_HOST",
    "embedded_mongo_port": "EMBEDDED_MONGO_PORT",
    "admin_username": "ADMIN_USERNAME",
    "admin_password": "ADMIN_PASSWORD",
    "auth_cookie_key": "AUTH_COOKIE_KEY",
    "session_timeout_minutes": "SESSION_TIMEOUT_MINUTES",
    "max_failed_logins": "MAX_FAILED_LOGINS",
    "lockout_minutes": "LOCKOUT_MINUTES",
    "max_upload_mb": "MAX_UPLOAD_MB",
    "resize_mode": "RESIZE_MODE",
    "backbone": "BACKBONE",
    "backbone_weights": "BACKBONE_WEIGHTS",
    "backbone_fallback": "BACKBONE_FALLBACK",
    "openverse_url": "OPENVERSE_URL",
    "google_api_key": "GOOGLE_API_KEY",
    "google_cse_id": "GOOGLE_CSE_ID",
    "google_search_url": "GOOGLE_SEARCH_URL",
    "allow_private_hosts": "ALLOW_PRIVATE_HOSTS",
    "identify_api_key": "IDENTIFY_API_KEY",
    "show_recent_gallery": "SHOW_RECENT_GALLERY",
}


def _parse(variable: str, raw: str, type_name: Any) -> Any:
    text = str(type_name)
    if "Path" in text:
        return Path(raw).expanduser()
    if "bool" in text:
        flag = parse_yes_no(raw)
        if flag is not None:
            return flag
        raise ConfigError(f"{variable}={raw!r} is not a yes/no value; use true or false.")
    if "int" in text:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{variable}={raw!r} is not a whole number; use e.g. 8501.") from None
    return raw


def _redact(url: str) -> str:
    """The URL for messages: passwords, tokens and secret query values replaced by ***.

    Everything before the last "@" is user information; only the user name of a well-formed
    "scheme://user:password@" stays, any other form is hidden whole.
    """
    text = url
    if "@" in text:
        scheme = match.group(0) if (match := _SCHEME.match(text)) else ""
        credentials, host = text[len(scheme) :].rsplit("@", 1)
        user, has_password, _ = credentials.partition(":")
        shown = f"{user}:***" if scheme and has_password and user else "***"
        text = f"{scheme}{shown}@{host}"
    return _SECRET_PARAMETER.sub(r"\1***", text)


def check_port_free(variable: str, port: int, host: str = "127.0.0.1") -> None:
    """Raise ConfigError naming the variable when something already listens on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise ConfigError(
                f"{variable}={port} is already in use; stop what runs there or set {variable} "
                "to a free port."
            ) from None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
