"""The console pages' main flows under AppTest, against the embedded MongoDB.

The web image search talks to a small local HTTP server that answers like Openverse (the one
fake: the internet is an edge we do not own).
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from pymongo.database import Database
from streamlit.testing.v1 import AppTest

from core.config import Settings
from core.db.files import FileStore
from core.db.training_images import TrainingImageRepository
from core.db.users import UserRepository
from core.labels import CAT_PHENOTYPE
from core.services.auth import sign_in
from core.services.filters import build_filter
from tests.console_support import (
    BLUE,
    PASSWORD,
    add_images,
    add_user,
    console_env,
    jpeg_bytes,
    page_test,
    signed_in,
)

CREAM = {
    "is_cat": True,
    "colour": "cream",
    "is_tabby": False,
    "pattern": "self",
    "is_pointed": False,
}


def widget(elements, label: str):
    """The one widget with this label (fails loudly if there is none or several)."""
    [found] = [element for element in elements if element.label == label]
    return found


def all_text(at: AppTest) -> str:
    parts = [
        e.value for e in (*at.markdown, *at.success, *at.error, *at.warning, *at.info, *at.caption)
    ]
    return "\n".join(str(part) for part in parts)


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def console(settings: Settings, mongo_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The console pointed at the test database, with administrator ann."""
    console_env(monkeypatch, settings)
    add_user(mongo_db, "ann")
    return mongo_db


def open_page(page: str, username: str = "ann") -> AppTest:
    return run_ok(signed_in(page_test(page), username))


# ----- Training images --------------------------------------------------------------------


def set_label_widgets(at: AppTest, prefix: str, label: dict) -> None:
    for trait, value in label.items():
        at.selectbox(key=f"{prefix}_{trait}").set_value(value)


def test_filter_select_page_and_bulk_label_changes_the_counts(console: Database) -> None:
    repository = TrainingImageRepository(console)
    add_images(repository, [BLUE, BLUE, None, None, None])
    at = open_page("training_images.py")
    assert "**5** of 5 images match" in all_text(at)

    at.selectbox(key="filter_status").set_value("unlabelled")
    run_ok(at)
    assert "**3** of 5 images match" in all_text(at)
    assert len(at.checkbox) == 3

    widget(at.button, "Select page").click()
    run_ok(at)
    assert "**3 selected**" in all_text(at)
    assert all(box.value for box in at.checkbox)

    set_label_widgets(at, "bulk_label", CREAM)
    run_ok(at)
    widget(at.button, "Apply label to 3 selected").click()
    run_ok(at)

    assert [s.value for s in at.success] == [
        "Labelled 3 images (Cat: yes, Colour: cream, Tabby: no, Pattern: self, Colourpoint: no)."
    ]
    assert "**0** of 5 images match" in all_text(at)
    assert repository.count(build_filter(CAT_PHENOTYPE, traits={"colour": "cream"})) == 3
    assert "**0 selected**" in all_text(at)


def test_a_partial_label_changes_only_the_chosen_trait(console: Database) -> None:
    repository = TrainingImageRepository(console)
    [blue] = add_images(repository, [BLUE])
    at = open_page("training_images.py")

    at.checkbox[0].check()
    run_ok(at)
    at.selectbox(key="bulk_label_is_tabby").set_value(True)
    run_ok(at)
    widget(at.button, "Apply label to 1 selected").click()
    run_ok(at)

    assert at.success[0].value == "Labelled 1 image (Tabby: yes)."
    assert repository.get(blue).label == {**BLUE, "is_tabby": True}


def test_select_all_matching_selects_beyond_the_page(console: Database) -> None:
    add_images(TrainingImageRepository(console), [None] * 26)
    at = open_page("training_images.py")
    at.selectbox(key="grid_page_size").set_value(24)
    run_ok(at)
    assert len(at.checkbox) == 24

    widget(at.button, "Select all 26 matching").click()
    run_ok(at)
    widget(at.button, "Mark not a cat").click()
    run_ok(at)

    assert at.success[0].value == "Marked 26 images as not a cat."
    assert "**26** of 26 images match" in all_text(at)
    at.selectbox(key="filter_is_cat").set_value(False)
    run_ok(at)
    assert "**26** of 26 images match" in all_text(at)


def test_delete_asks_for_confirmation_and_removes_the_files(console: Database) -> None:
    repository = TrainingImageRepository(console)
    first, second = add_images(repository, [BLUE, None])
    doomed = repository.get(second)
    at = open_page("training_images.py")

    at.checkbox(key=f"pick_{second}").check()
    run_ok(at)
    widget(at.button, "Delete selected…").click()
    run_ok(at)
    assert at.warning[0].value == "Delete 1 image and the stored files for good?"
    assert repository.count() == 2  # nothing yet
    widget(at.button, "Delete 1 image").click()
    run_ok(at)

    assert at.success[0].value == "Deleted 1 image with their files."
    assert [image.id for image in repository.find()] == [first]
    assert not FileStore(console).exists(doomed.image_file)
    assert "**1** of 1 images match" in all_text(at)


def test_delete_without_a_selection_deletes_nothing(console: Database) -> None:
    repository = TrainingImageRepository(console)
    add_images(repository, [BLUE, None])
    at = open_page("training_images.py")

    widget(at.button, "Delete selected…").click()
    run_ok(at)

    assert at.error[0].value.startswith("No images are selected, so nothing was deleted")
    assert not at.warning
    assert repository.count() == 2


def test_details_show_the_source_and_history(console: Database) -> None:
    repository = TrainingImageRepository(console)
    add_images(repository, [BLUE])
    at = open_page("training_images.py")

    at.button(key=f"pick_details_{repository.ids()[0]}").click()
    run_ok(at)

    text = all_text(at)
    assert "**Source:** upload" in text
    assert "**File:** picture-1.jpg · 96×80 JPEG" in text
    assert "**Colour:** blue" in text
    assert "added from upload" in at.dataframe[0].value.to_string()


# ----- Import -----------------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_uploading_two_images_and_a_zip_gives_a_report(console: Database) -> None:
    repository = TrainingImageRepository(console)
    archive = zip_bytes(
        {
            "cats/blue/a.jpg": jpeg_bytes(21),
            "cats/not_cat/b.jpg": jpeg_bytes(22),
            "cats/broken.jpg": b"this is not a picture",
        }
    )
    at = open_page("import_images.py")

    at.file_uploader[0].set_value(
        [
            ("loose-1.jpg", jpeg_bytes(23), "image/jpeg"),
            ("loose-2.jpg", jpeg_bytes(24), "image/jpeg"),
            ("cats.zip", archive, "application/zip"),
        ]
    )
    run_ok(at)
    set_label_widgets(at, "upload_label", {"is_cat": True, "colour": "cream"})
    run_ok(at)
    widget(at.button, "Import 3 files").click()
    run_ok(at)

    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics == {
        "Added": "4",
        "Possible duplicates": "0",
        "Already stored": "0",
        "Rejected": "1",
    }
    assert "Added 4 images" in at.warning[0].value
    rejected = at.dataframe[0].value
    assert list(rejected["File"]) == ["cats/broken.jpg"]
    assert "is not an image" in rejected["Reason"].iloc[0]
    labels = {image.filename: image.label for image in repository.find()}
    assert labels == {
        "loose-1.jpg": {"is_cat": True, "colour": "cream"},  # the label for loose images
        "loose-2.jpg": {"is_cat": True, "colour": "cream"},
        "cats/blue/a.jpg": BLUE,  # labelled by its folder
        "cats/not_cat/b.jpg": {"is_cat": False},
    }
    assert at.file_uploader[0].value in (None, [])  # a fresh uploader for the next batch


def test_uploading_the_same_images_again_reports_them_as_already_stored(
    console: Database,
) -> None:
    add_images(TrainingImageRepository(console), [None], first_seed=23)
    at = open_page("import_images.py")

    at.file_uploader[0].set_value([("again.jpg", jpeg_bytes(23), "image/jpeg")])
    run_ok(at)
    widget(at.button, "Import 1 file").click()
    run_ok(at)

    assert {m.label: m.value for m in at.metric}["Already stored"] == "1"


class FakeOpenverse(BaseHTTPRequestHandler):
    """Answers /v1/images/ like Openverse, and serves the images it lists."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = urlsplit(self.path)
        base = f"http://127.0.0.1:{self.server.server_port}"
        if parts.path == "/v1/images/":
            query = parse_qs(parts.query)
            results = [
                {
                    "url": f"{base}/img/{n}.jpg",
                    "thumbnail": f"{base}/img/{n}.jpg",
                    "title": f"Blue cat {n}",
                    "license": "by",
                    "license_version": "2.0",
                    "creator": "Cleo Photographer",
                    "foreign_landing_url": f"{base}/page/{n}",
                }
                for n in (31, 32, 33)
            ]
            body = json.dumps({"result_count": 3, "page_count": 1, "results": results})
            assert query["q"] == ["blue cat"]
            self._send(200, "application/json", body.encode())
        elif parts.path.startswith("/img/"):
            self._send(200, "image/jpeg", jpeg_bytes(int(parts.path[5:].split(".")[0])))
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def openverse(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenverse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("OPENVERSE_URL", url)
    monkeypatch.setenv("ALLOW_PRIVATE_HOSTS", "true")  # the fake Openverse is on 127.0.0.1
    yield url
    server.shutdown()
    server.server_close()


def test_web_search_selection_is_imported_with_licence_and_creator(
    console: Database, openverse: str
) -> None:
    repository = TrainingImageRepository(console)
    at = open_page("import_images.py")

    widget(at.text_input, "Search for").input("blue cat")
    widget(at.button, "Search").click()
    run_ok(at)
    assert "**3** images found" in all_text(at)
    captions = [c.value for c in at.caption]
    assert "Blue cat 31 · CC BY 2.0 · Cleo Photographer" in captions
    at.checkbox(key=f"web_pick_{openverse}/img/31.jpg").check()
    run_ok(at)
    at.checkbox(key=f"web_pick_{openverse}/img/33.jpg").check()
    run_ok(at)
    widget(at.button, "Import 2 selected").click()
    run_ok(at)

    assert {m.label: m.value for m in at.metric}["Added"] == "2"
    images = sorted(repository.find(), key=lambda image: image.source_url)
    assert [image.source_url for image in images] == [
        f"{openverse}/img/31.jpg",
        f"{openverse}/img/33.jpg",
    ]
    assert {(i.source, i.licence, i.creator) for i in images} == {
        ("web_search", "CC BY 2.0", "Cleo Photographer")
    }


def test_pasted_urls_with_a_bad_line_say_which_line(console: Database) -> None:
    at = open_page("import_images.py")
    at.segmented_control(key="web_provider").set_value("urls")
    run_ok(at)

    at.text_area[0].input("https://example.org/cat.jpg\nftp://example.org/cat.jpg")
    widget(at.button, "Show these images").click()
    run_ok(at)

    assert "Line 2" in at.error[0].value
    assert not at.checkbox


# ----- Users ------------------------------------------------------------------------------


def test_an_administrator_adds_a_user(console: Database) -> None:
    at = open_page("users.py")

    widget(at.text_input, "Username").input("Cleo")
    widget(at.text_input, "Display name").input("Cleo Labeller")
    widget(at.selectbox, "Role").set_value("labeller")
    widget(at.text_input, "Password").input("cleos-own-password")
    widget(at.text_input, "Password again").input("cleos-own-password")
    widget(at.button, "Add user").click()
    run_ok(at)

    assert at.success[0].value == "Added labeller 'cleo'; they can sign in now."
    assert "cleo" in list(at.dataframe[0].value["Username"])
    cleo = UserRepository(console).get("cleo")
    assert (cleo.role, cleo.display_name, cleo.created_by) == ("labeller", "Cleo Labeller", "ann")


def test_adding_a_user_with_two_different_passwords_is_refused(console: Database) -> None:
    at = open_page("users.py")

    widget(at.text_input, "Username").input("cleo")
    widget(at.text_input, "Password").input("cleos-own-password")
    widget(at.text_input, "Password again").input("cleos-other-password")
    widget(at.button, "Add user").click()
    run_ok(at)

    assert "two new passwords differ" in at.error[0].value
    assert UserRepository(console).find("cleo") is None


def test_changing_your_own_password(console: Database) -> None:
    users = UserRepository(console)
    at = open_page("users.py")

    widget(at.text_input, "Current password").input(PASSWORD)
    widget(at.text_input, "New password").input("a-brand-new-secret")
    widget(at.text_input, "New password again").input("a-brand-new-secret")
    widget(at.button, "Change password").click()
    run_ok(at)

    assert at.success[0].value == "Your password is changed; use it next time you sign in."
    limits = {"max_failed_logins": 5, "lockout_minutes": 15}
    assert sign_in(users, "ann", "a-brand-new-secret", **limits).username == "ann"


def test_the_last_administrator_cannot_be_removed(console: Database) -> None:
    add_user(console, "bob", role="labeller")
    at = open_page("users.py")

    remove = widget(at.selectbox, "User to remove")
    assert remove.options == ["bob"]  # never yourself, so never the last administrator

    remove.set_value("bob")
    widget(at.checkbox, "Yes, remove this user for good").check()
    run_ok(at)
    widget(at.button, "Remove user").click()
    run_ok(at)

    assert at.success[0].value == "Removed 'bob'."
    assert [u.username for u in UserRepository(console).list()] == ["ann"]
    assert "You are the only user" in all_text(at)


def test_a_labeller_sees_only_their_own_account(console: Database) -> None:
    add_user(console, "bob", role="labeller")

    at = open_page("users.py", "bob")

    assert [s.value for s in at.subheader] == ["Your account"]
    assert "Only administrators can see and manage the other console users." in all_text(at)
    assert not at.dataframe
