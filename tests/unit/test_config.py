"""Configuration from the environment: defaults and one clear sentence per bad value."""

import socket
import tomllib
from pathlib import Path

import pytest

from core.app_settings import read_secrets
from core.config import Settings, _redact, check_port_free
from core.errors import ConfigError


def test_defaults_run_a_fresh_checkout() -> None:
    settings = Settings.from_env({})
    assert settings.mongo_uri is None and settings.database_url is None
    assert settings.mongo_db == "cat_identifier"
    assert settings.data_dir == Path("data")
    assert (settings.breeder_port, settings.admin_port, settings.api_port) == (8501, 8502, 8503)
    assert settings.schema.name == "cat_phenotype"


def test_environment_values_are_read_and_typed(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "MONGO_URI": "mongodb+srv://ann:secret@cluster.example.net",
            "DATABASE_URL": "postgresql://ann:secret@db/cats",
            "DATA_DIR": str(tmp_path),
            "LABEL_SCHEMA": "dog_breed",
            "BREEDER_PORT": "9001",
            "SHOW_RECENT_GALLERY": "yes",
        }
    )
    assert settings.data_dir == tmp_path and settings.breeder_port == 9001
    assert settings.schema.name == "dog_breed" and settings.show_recent_gallery is True
    assert "secret" not in repr(settings)


def test_environment_wins_over_app_secrets() -> None:
    settings = Settings.from_env(
        {"MONGO_DB": "from_env"}, secrets={"mongo_db": "from_secrets", "ADMIN_PORT": 9100}
    )
    assert settings.mongo_db == "from_env" and settings.admin_port == 9100


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"MONGO_URI": "http://ann:pw@db"},
            r"MONGO_URI='http://ann:\*\*\*@db' is not a MongoDB URL",
        ),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL='mysql://db/x' is not a PostgreSQL"),
        ({"LABEL_SCHEMA": "horses"}, "LABEL_SCHEMA='horses' is not known"),
        ({"BREEDER_PORT": "eighty"}, "BREEDER_PORT='eighty' is not a whole number"),
        ({"ADMIN_PORT": "70000"}, "ADMIN_PORT=70000 is not a port"),
        ({"SHOW_RECENT_GALLERY": "perhaps"}, "SHOW_RECENT_GALLERY='perhaps' is not a yes/no"),
        ({"RESIZE_MODE": "stretch"}, "RESIZE_MODE='stretch' is not known"),
        ({"MAX_UPLOAD_MB": "0"}, "MAX_UPLOAD_MB=0 must be between 1 and 1024"),
        ({"LOCKOUT_MINUTES": "0"}, "LOCKOUT_MINUTES must be at least 1"),
        ({"BACKBONE_WEIGHTS": "/nowhere/w.h5"}, "BACKBONE_WEIGHTS='/nowhere/w.h5' is not a file"),
    ],
)
def test_bad_values_stop_with_one_sentence_naming_the_variable(env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env(env)
    assert "\n" not in str(caught.value) and "pw" not in str(caught.value)


def test_unwritable_data_dir_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings = Settings.from_env({"DATA_DIR": str(blocker / "data")})
    with pytest.raises(ConfigError, match="DATA_DIR=.* is not a writable folder"):
        settings.ensure_data_dir()


def test_port_in_use_is_named() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError, match=f"BREEDER_PORT={port} is already in use"):
            check_port_free("BREEDER_PORT", port)


def test_broken_secrets_file_is_named(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("MONGO_URI = 'unterminated\n")
    with pytest.raises(ConfigError, match="secrets.toml.* is not valid TOML"):
        read_secrets(secrets)
    assert read_secrets(tmp_path / "missing.toml") == {}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://ann:pw@db", "http://ann:***@db"),
        ("mongodb://ann:p@ss/w:rd@db:27017/cats", "mongodb://ann:***@db:27017/cats"),
        ("mongodb://tokenonly@db", "mongodb://***@db"),
        ("ann:secretpw@db.internal:27017", "***@db.internal:27017"),
        ("mongodb:ann:secretpw@db", "***@db"),
        ("mongodb:/ann:secretpw@db", "***@db"),
        (
            "postgresql://db/cats?user=ann&password=secretpw",
            "postgresql://db/cats?user=ann&password=***",
        ),
        (
            "mongodb://db/?authSource=admin&PWD=secretpw#x",
            "mongodb://db/?authSource=admin&PWD=***#x",
        ),
        ("mysql://db/x", "mysql://db/x"),
    ],
)
def test_redact_hides_every_form_of_credentials(url: str, expected: str) -> None:
    assert _redact(url) == expected


@pytest.mark.parametrize(
    "uri", ["ann:secretpw@db.internal", "mongodb:ann:secretpw@db", "mongo://x?password=secretpw"]
)
def test_a_bad_mongo_uri_is_named_without_its_password(uri: str) -> None:
    with pytest.raises(ConfigError, match="MONGO_URI=.* is not a MongoDB URL") as caught:
        Settings.from_env({"MONGO_URI": uri})
    assert "secretpw" not in str(caught.value)


def test_a_short_auth_cookie_key_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigError, match="AUTH_COOKIE_KEY is 11 bytes long; use at least 32") as e:
        Settings.from_env({"AUTH_COOKIE_KEY": "short-key-1"})
    assert "short-key-1" not in str(e.value) and "\n" not in str(e.value)
    assert Settings.from_env({"AUTH_COOKIE_KEY": "k" * 32}).auth_cookie_key == "k" * 32
    assert Settings.from_env({}).auth_cookie_key is None  # the console then makes a random one


def test_both_apps_hide_error_details_from_visitors() -> None:
    config = tomllib.loads((Path(__file__).parents[2] / ".streamlit" / "config.toml").read_text())

    assert config["client"]["showErrorDetails"] is False
