"""Helpers for console tests: point the apps at the test servers, sign a session in, add images."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.config import Settings
from core.db.training_images import TrainingImageRepository
from core.db.users import User, UserRepository
from core.labels import CAT_PHENOTYPE, LabelSchema
from core.services.imports import ImportReport, import_image

# Re-exported for tests/integration/test_training_view.py until it imports tests.label_helpers.
from tests.label_helpers import BLUE as BLUE
from tests.label_helpers import CREAM_POINTED as CREAM_POINTED
from tests.label_helpers import NOT_CAT as NOT_CAT
from tests.label_helpers import RED_TABBY as RED_TABBY

REPO_ROOT = Path(__file__).resolve().parent.parent
CONSOLE_APP = REPO_ROOT / "admin_app" / "app.py"
PAGES_DIR = REPO_ROOT / "admin_app" / "pages"
PASSWORD = "purring-kitten-42"
TIMEOUT_S = 60  # AppTest's default (3 s) is too short for a first database connection
MODEL_TIMEOUT_S = 120  # a page that loads a trained model (TensorFlow) on its first run


def console_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """Point the console (and any app using core.app_settings) at the settings' servers."""
    monkeypatch.setenv("MONGO_URI", settings.mongo_uri or "")
    monkeypatch.setenv("MONGO_DB", settings.mongo_db)
    monkeypatch.setenv("DATABASE_URL", settings.database_url or "")
    monkeypatch.setenv("DATA_DIR", str(settings.data_dir))
    for name in ("ADMIN_USERNAME", "ADMIN_PASSWORD", "AUTH_COOKIE_KEY", "LABEL_SCHEMA"):
        monkeypatch.delenv(name, raising=False)


def signed_in(at: AppTest, username: str) -> AppTest:
    """Preset the session keys of a signed-in user (the console contract) on an AppTest."""
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["last_activity"] = time.time()
    return at


def page_test(page: str, *, timeout_s: float = TIMEOUT_S) -> AppTest:
    """An AppTest of one console page file, e.g. page_test("users.py")."""
    return AppTest.from_file(str(PAGES_DIR / page), default_timeout=timeout_s)


def add_user(database, username: str = "ann", role: str = "admin") -> User:
    return UserRepository(database).add(username, PASSWORD, role=role, created_by="test")


def picture(seed: int, size: tuple[int, int] = (96, 80)) -> Image.Image:
    """A small picture of random blocks: no two seeds look alike (no near-duplicates)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize(size, Image.Resampling.NEAREST)


def jpeg_bytes(seed: int, size: tuple[int, int] = (96, 80)) -> bytes:
    buffer = io.BytesIO()
    picture(seed, size).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def add_images(
    repository: TrainingImageRepository,
    labels: list[dict | None],
    *,
    schema: LabelSchema = CAT_PHENOTYPE,
    source: str = "upload",
    first_seed: int = 1,
) -> list[str]:
    """Store one picture per label (None: unlabelled); return the new image ids in order."""
    report = ImportReport()
    for offset, label in enumerate(labels):
        seed = first_seed + offset
        report.add(
            import_image(
                repository,
                jpeg_bytes(seed),
                f"picture-{seed}.jpg",
                source=source,
                schema=schema,
                label=label,
                labelled_by="test" if label else None,
            )
        )
    assert report.added == len(labels), report.outcomes
    return [outcome.image_id for outcome in report.outcomes]


def run_ok(at: AppTest) -> AppTest:
    """Run the app and fail with its exceptions, if any."""
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str, username: str = "ann", *, timeout_s: float = TIMEOUT_S) -> AppTest:
    """A console page file run once for a signed-in user."""
    return run_ok(signed_in(page_test(page, timeout_s=timeout_s), username))


def all_text(at: AppTest) -> str:
    """Every markdown, message and caption the page shows, in one string."""
    parts = [
        e.value for e in (*at.markdown, *at.success, *at.error, *at.warning, *at.info, *at.caption)
    ]
    return "\n".join(str(part) for part in parts)


def widget(elements, label: str):
    """The one widget with this label (fails loudly if there is none or several)."""
    [found] = [element for element in elements if element.label == label]
    return found


def set_label_widgets(at: AppTest, prefix: str, label: dict) -> None:
    """Set the label select boxes keyed `<prefix>_<trait>` to a label's values."""
    for trait, value in label.items():
        at.selectbox(key=f"{prefix}_{trait}").set_value(value)
