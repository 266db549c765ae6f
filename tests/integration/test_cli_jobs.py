"""The small command-line jobs: users, demo and models, with good and bad arguments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pymongo.database import Database

from core.config import Settings
from core.db.training_images import TrainingImageRepository
from core.db.users import UserRepository

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(settings: Settings, *args: str, stdin: str = "", extra_env: dict | None = None):
    env = {
        **os.environ,
        "MONGO_URI": settings.mongo_uri,
        "MONGO_DB": settings.mongo_db,
        "DATA_DIR": str(settings.data_dir),
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", *args],
        input=stdin,
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_add_reads_the_password_twice_from_stdin(settings: Settings, mongo_db) -> None:
    result = run(settings, "jobs.users", "add", "Ann", stdin="correct horse\ncorrect horse\n")

    assert result.returncode == 0, result.stderr
    assert "Added admin 'ann'" in result.stdout
    assert "correct horse" not in result.stdout + result.stderr
    assert UserRepository(mongo_db).authenticate("ann", "correct horse").is_admin
    listed = run(settings, "jobs.users", "list")
    assert "ann" in listed.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "ann"], "one password\nanother one\n", "The two passwords differ"),
        (["add", "ann"], "short\nshort\n", "use at least 8"),
        (["add", "a b"], "long enough\nlong enough\n", "Username 'a b' is not allowed"),
        (["remove", "nobody"], "", "No user named 'nobody'"),
    ],
)
def test_users_command_refuses_bad_input_with_one_sentence(
    settings: Settings, mongo_db: Database, args: list[str], stdin: str, message: str
) -> None:
    result = run(settings, "jobs.users", *args, stdin=stdin)

    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert UserRepository(mongo_db).count() == 0


def test_demo_adds_images_a_second_process_sees(settings: Settings, mongo_db: Database) -> None:
    result = run(settings, "jobs.demo", "--images", "12", "--unlabelled", "3", "--seed", "4")

    assert result.returncode == 0, result.stderr
    assert "Added 15 images" in result.stdout
    images = TrainingImageRepository(mongo_db)
    assert images.count() == 15
    assert len(images.labelled()) == 12
    assert {image.source for image in images.find(limit=100)} == {"demo"}


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (["jobs.demo", "--images", "-5"], {}, "Ask for 1 to 50000 demo images"),
        (["jobs.demo", "--schema", "horses"], {}, "Label schema 'horses' is not known"),
        (["jobs.demo"], {"LABEL_SCHEMA": "horses"}, "LABEL_SCHEMA='horses' is not known"),
        (["jobs.demo"], {"MONGO_URI": "http://nope"}, "MONGO_URI='http://nope' is not"),
        (["jobs.models", "activate", "xyz"], {}, "'xyz' is not a valid model id"),
        (["jobs.models", "delete", "0123456789abcdef01234567"], {}, "No model with id"),
        (["jobs.train", "--epochs", "0"], {}, "Epochs 0 is not allowed"),
    ],
)
def test_jobs_refuse_bad_arguments_and_environment(
    settings: Settings, mongo_db: Database, args: list[str], extra_env: dict, message: str
) -> None:
    result = run(settings, *args, extra_env=extra_env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert TrainingImageRepository(mongo_db).count() == 0


def test_models_list_says_how_to_train_when_empty(settings: Settings, mongo_db) -> None:
    result = run(settings, "jobs.models", "list")
    assert result.returncode == 0
    assert "python -m jobs.train --wait" in result.stdout
