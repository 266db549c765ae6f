"""Settings for the Streamlit apps: environment first, then `.streamlit/secrets.toml`."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.config import Settings

SECRETS_FILE = Path(".streamlit") / "secrets.toml"


def read_secrets(path: Path = SECRETS_FILE) -> Mapping[str, Any]:
    """The app secrets file as a mapping (empty when there is none)."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as err:
        from core.errors import ConfigError

        raise ConfigError(f"{str(path)!r} is not valid TOML ({err}); fix or remove it.") from err


def app_settings() -> Settings:
    return Settings.from_env(secrets=read_secrets())
