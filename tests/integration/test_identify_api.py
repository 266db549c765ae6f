"""The identify API as programs use it: a real uvicorn process, the real embedded databases.

Three servers: one without a model (with an API key and a 1 MB limit) for every bad input, one
with a tiny trained cat model, and one that gets a tiny dog-breed model while it runs.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from bson import ObjectId

from core import genetics
from core.config import Settings, free_port
from core.db.models import ModelRepository
from core.db.predictions import Prediction
from core.db.training_images import TrainingImageRepository
from core.db.training_runs import TrainingRunRepository
from core.demo.samples import demo_samples, encode_jpeg
from core.labels import CAT_PHENOTYPE, DOG_BREED, LabelSchema
from tests.api_helpers import (
    API_KEY,
    KEY,
    Api,
    assert_error,
    in_process_api,
    post_held_identify,
    serving,
    wait_for_health,
    wait_for_work,
)
from tests.image_corpus import encode, phone_files, photo_like
from tests.model_helpers import TINY, TrainedTemplate, clone_trained

REPO_ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def train_tiny_model(api: Api, schema: LabelSchema, count: int, folder: Path) -> str:
    """Demo images and a two-epoch small_cnn run in the API's database; the new model's id."""
    from core.services.demo import add_demo_images
    from core.services.training import run_training_job, start_training_run

    add_demo_images(TrainingImageRepository(api.database), schema, count=count, seed=3)
    runs = TrainingRunRepository(api.database)
    run_id = start_training_run(runs, lambda args: None, TINY, requested_by="test")
    settings = Settings(mongo_db=api.database.name, data_dir=folder, label_schema=schema.name)
    status = run_training_job(api.database, run_id, schema=schema, settings=settings)
    assert status == "succeeded", runs.log_entries(run_id)
    return runs.get(run_id).model_id


def photos(schema_name: str, count: int, seed: int = 77) -> list[bytes]:
    return [encode_jpeg(s.image) for s in demo_samples(schema_name, count, seed=seed)]


@pytest.fixture(scope="module")
def plain_api(
    mongo_uri: str, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """No model yet, an API key and a 1 MB upload limit."""
    folder = tmp_path_factory.mktemp("plain_api")
    with serving(
        mongo_uri,
        folder,
        IDENTIFY_API_KEY=API_KEY,
        MAX_UPLOAD_MB="1",
        DATABASE_URL=postgres_url,
    ) as api:
        yield api


@pytest.fixture(scope="module")
def cat_api(
    mongo_uri: str, tmp_path_factory: pytest.TempPathFactory, trained_template: TrainedTemplate
) -> Iterator[Api]:
    """The session's tiny trained cat-phenotype model (with its images and run); no API key."""
    folder = tmp_path_factory.mktemp("cat_api")
    with serving(mongo_uri, folder) as api:
        clone_trained(trained_template, api.database)
        wait_for_health(api, model_loaded=True)
        yield api


@pytest.fixture(scope="module")
def dog_api(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """Started without a model; a dog-breed model is trained and activated while it runs."""
    folder = tmp_path_factory.mktemp("dog_api")
    with serving(mongo_uri, folder, LABEL_SCHEMA="dog_breed") as api:
        photo = photos("dog_breed", 1)[0]
        api.before_model = {
            "health": httpx.get(f"{api.url}/health").json(),
            "identify": httpx.post(f"{api.url}/identify", files={"image": ("d.jpg", photo)}),
        }
        train_tiny_model(api, DOG_BREED, 36, folder)
        wait_for_health(api, model_loaded=True)
        yield api


def post_photo(api: Api, photo: bytes, *, headers=None, params=None, data=None) -> httpx.Response:
    files = {"image": ("cat.jpg", photo, "image/jpeg")}
    return httpx.post(
        f"{api.url}/identify", files=files, headers=headers, params=params, data=data, timeout=30
    )


# --- without a model: health, docs, key, and every bad input --------------------------------


def test_health_answers_without_key_or_model_and_names_the_databases(plain_api: Api) -> None:
    response = httpx.get(f"{plain_api.url}/health")

    assert response.status_code == 200
    health = response.json()
    assert health["success"] is True and health["status"] == "no model"
    assert health["mongo"] == {"ok": True, "database": plain_api.database.name}
    assert health["warehouse"] == {"ok": True}
    assert health["model"] == {"loaded": False, "state": "no active model", "active_id": None}


def test_docs_and_openapi_stay_open_when_a_key_is_set(plain_api: Api) -> None:
    docs = httpx.get(f"{plain_api.url}/docs")
    spec = httpx.get(f"{plain_api.url}/openapi.json").json()

    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert {"/identify", "/identify/{prediction_id}/feedback", "/model", "/health"} <= set(
        spec["paths"]
    )
    body = spec["paths"]["/identify"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert body["schema"]["required"] == ["image"]


def test_requests_without_the_key_get_401(plain_api: Api) -> None:
    photo = photos("cat_phenotype", 1)[0]
    prediction_id = str(ObjectId())
    before = plain_api.predictions().count()
    answers = [
        post_photo(plain_api, photo),
        httpx.get(f"{plain_api.url}/model"),
        httpx.post(f"{plain_api.url}/identify/{prediction_id}/feedback", json={"correct": True}),
        post_photo(plain_api, photo, headers={"Authorization": "Basic dXNlcjpwdw=="}),
    ]

    for response in answers:
        assert_error(response, 401, "X-API-Key", "Bearer")
        assert response.headers["www-authenticate"] == "Bearer"
    wrong = post_photo(plain_api, photo, headers={"X-API-Key": "guess"})
    assert_error(wrong, 401, "not valid")
    assert plain_api.predictions().count() == before


def test_key_is_accepted_as_header_or_bearer_and_no_model_gives_503(plain_api: Api) -> None:
    photo = photos("cat_phenotype", 1)[0]

    by_header = post_photo(plain_api, photo, headers=KEY)
    by_bearer = post_photo(plain_api, photo, headers={"Authorization": f"Bearer {API_KEY}"})
    model = httpx.get(f"{plain_api.url}/model", headers=KEY)

    for response in (by_header, by_bearer, model):
        assert_error(response, 503, "No model is active yet")


@pytest.mark.parametrize(
    ("send", "fragment"),
    [
        ({"files": {"file": ("cat.jpg", b"\xff\xd8\xff")}}, "no file in the form field 'image'"),
        ({"files": [("store", (None, "true"))]}, "(it sent 'store')"),
        ({"data": {"image": "cat.jpg"}}, "not multipart/form-data"),
        ({"data": {"image": "cat.jpg"}, "files": {"x": ("x", b"1")}}, "holds text, not a file"),
        ({"json": {"image": "aGVsbG8="}}, "not multipart/form-data"),
        ({"content": b"\xff\xd8\xff\xe0"}, "not multipart/form-data"),
    ],
)
def test_identify_without_a_file_is_400(plain_api: Api, send: dict, fragment: str) -> None:
    response = httpx.post(f"{plain_api.url}/identify", headers=KEY, **send)

    assert_error(response, 400, fragment, "curl -F image=@cat.jpg")


PROGRESSIVE = encode(photo_like((1600, 1200), seed=3), "JPEG", quality=85, progressive=True)


@pytest.mark.parametrize(
    ("filename", "data", "fragment"),
    [
        ("notes.jpg", b"my cat is blue\n" * 20, "is not an image (a text file)"),
        ("page.png", b"<!doctype html><html><body>login</body></html>", "an HTML page"),
        ("empty.jpg", b"", "is empty"),
        ("cut.jpg", photos("cat_phenotype", 1)[0][:3000], "truncated or corrupt"),
        ("IMG_0042.HEIC", dict(phone_files())["IMG_0042.HEIC"], "is in HEIC format"),
        ("cut-progressive.jpg", PROGRESSIVE[: len(PROGRESSIVE) // 2], "truncated or corrupt"),
    ],
)
def test_identify_with_a_file_that_is_not_a_usable_image_is_422(
    plain_api: Api, filename: str, data: bytes, fragment: str
) -> None:
    files = {"image": (filename, data, "image/jpeg")}
    response = httpx.post(f"{plain_api.url}/identify", files=files, headers=KEY)

    assert_error(response, 422, repr(filename), fragment)


def test_identify_upload_over_the_limit_is_413(plain_api: Api) -> None:
    over = b"\xff\xd8\xff\xe0" + os.urandom(int(1.2 * MB))
    just_over = b"\xff\xd8\xff\xe0" + os.urandom(MB)  # fits the framing allowance, not the limit

    response = post_photo(plain_api, over, headers=KEY)
    photo_only = post_photo(plain_api, just_over, headers=KEY)

    assert_error(response, 413, "1.2 MB, over the 1 MB limit (MAX_UPLOAD_MB)")
    assert_error(photo_only, 413, "over the 1 MB limit")


def _raw_request(api: Api, head: bytes) -> socket.socket:
    sock = socket.create_connection(api.address, timeout=10)
    sock.sendall(head)
    return sock


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    try:
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    return data


def test_declared_oversize_upload_is_refused_before_its_body_is_sent(plain_api: Api) -> None:
    head = (
        b"POST /identify HTTP/1.1\r\nHost: test\r\nX-API-Key: " + API_KEY.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 209715200\r\n\r\n"
    )
    started = time.monotonic()
    sock = _raw_request(plain_api, head + b"--b\r\n")  # 200 MB announced, 5 bytes sent

    response = _read_response(sock)

    assert time.monotonic() - started < 5
    assert response.startswith(b"HTTP/1.1 413")
    message = json.loads(response.split(b"\r\n\r\n", 1)[1])["error"]
    assert message.startswith("The upload is 200 MB, over the 1 MB limit (MAX_UPLOAD_MB)")


def test_chunked_upload_is_cut_off_soon_after_the_limit(plain_api: Api) -> None:
    head = (
        b"POST /identify HTTP/1.1\r\nHost: test\r\nX-API-Key: " + API_KEY.encode() + b"\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    part = b'--b\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\n\r\n'
    sock = _raw_request(plain_api, head + b"%x\r\n%s\r\n" % (len(part), part))
    sock.settimeout(2)
    sent, chunk = 0, b"\xff" * 65536
    while sent < 100 * MB:  # a client that would send 100 MB if nobody stopped it
        if select.select([sock], [], [], 0)[0]:
            break
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:  # the server closed the connection after answering
            break
        sent += len(chunk)

    response = _read_response(sock)

    assert response.startswith(b"HTTP/1.1 413"), response[:300]
    assert b"over the 1 MB limit" in response
    assert sent < 30 * MB  # the server stopped reading at ~1 MB; the rest sat in socket buffers


def test_two_photos_in_one_request_are_refused(plain_api: Api) -> None:
    photo = photos("cat_phenotype", 1)[0]
    files = [("image", ("a.jpg", photo)), ("image", ("b.jpg", photo))]

    response = httpx.post(f"{plain_api.url}/identify", files=files, headers=KEY)

    assert_error(response, 400, "2 files in 'image'; send one photo per request")


def test_without_a_database_health_still_answers_and_identify_is_503(tmp_path: Path) -> None:
    nobody = f"mongodb://127.0.0.1:{free_port()}"  # nothing listens there
    port = free_port()
    env = {**os.environ, "MONGO_URI": nobody, "DATA_DIR": str(tmp_path)}
    command = ["-m", "jobs.serve_api", "--host", "127.0.0.1", "--port", str(port)]
    log_path = tmp_path / "api.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, *command], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
        )
    api = Api(f"http://127.0.0.1:{port}", None, log_path, process)  # type: ignore[arg-type]
    try:
        first = wait_for_health(api, mongo_ok=False, timeout_s=30)  # at once
        identify = post_photo(api, photos("cat_phenotype", 1)[0])
        after = httpx.get(f"{api.url}/health", timeout=5).json()
    finally:
        process.terminate()
        process.wait(timeout=15)

    assert first["status"] == "degraded" and first["mongo"]["ok"] is False
    assert first["model"]["loaded"] is False
    assert_error(identify, 503, "The database does not answer right now")
    assert nobody.removeprefix("mongodb://") not in identify.text  # no hosts for clients
    assert after["status"] == "degraded" and "does not answer" in after["mongo"]["error"]
    log = log_path.read_text()
    assert f"MongoDB at '{nobody.removeprefix('mongodb://')}' does not answer" in log
    assert "Traceback" not in log


def test_bad_store_flag_is_400(plain_api: Api) -> None:
    photo = photos("cat_phenotype", 1)[0]

    as_query = post_photo(plain_api, photo, headers=KEY, params={"store": "maybe"})
    as_field = post_photo(plain_api, photo, headers=KEY, data={"keep_photo": "please"})

    assert_error(as_query, 400, "store='maybe' is not a yes/no value")
    assert_error(as_field, 400, "keep_photo='please' is not a yes/no value")


def _stored_prediction(api: Api) -> str:
    label = {"is_cat": True, "colour": "blue", "is_tabby": False, "pattern": "self"}
    return api.predictions().add(
        sha256="0" * 64,
        model_id=str(ObjectId()),  # a model deleted since: feedback uses the configured schema
        label={**label, "is_pointed": False},
        probabilities={},
        unsure=[],
        confidence=0.9,
        channel="api",
    )


def feedback_of(prediction: Prediction) -> bool | None:
    """The stored "was it right?"; nx-27017 keeps a boolean given to $set as 0/1."""
    return None if prediction.user_feedback is None else bool(prediction.user_feedback)


def test_feedback_for_a_bad_or_unknown_prediction_id(plain_api: Api) -> None:
    malformed = httpx.post(
        f"{plain_api.url}/identify/not-an-id/feedback", json={"correct": True}, headers=KEY
    )
    unknown = httpx.post(
        f"{plain_api.url}/identify/{ObjectId()}/feedback", json={"correct": True}, headers=KEY
    )

    assert_error(malformed, 400, "'not-an-id' is not a valid prediction id")
    assert_error(unknown, 404, "No prediction with id")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "The feedback body is empty"),
        (b"{correct: true}", "is not valid JSON"),
        (b"[true]", "must be a JSON object, not [True]"),
        (b'{"correction": {"colour": "blue"}}', "misses the field 'correct'"),
        (b'{"correct": "yes"}', "'correct' must be true or false, not 'yes'"),
        (b'{"correct": false, "comment": "nice"}', "field 'comment' is not known"),
        (b'{"correct": false, "correction": ["blue"]}', "must be an object of trait to value"),
        (b'{"correct": true, "correction": {"colour": "blue"}}', "only goes with"),
        (b'{"correct": false, "correction": {"eyes": "green"}}', "Trait 'eyes' is not part"),
        (b'{"correct": false, "correction": {"colour": "purple"}}', "Colour 'purple' is not known"),
        (
            b'{"correct": false, "correction": {"is_cat": false, "colour": "red"}}',
            "cannot be set on an image whose is_cat is no",
        ),
        (b'{"correct": true, "x": "' + b"a" * 70_000 + b'"}', "over 64 KB"),
    ],
)
def test_bad_feedback_is_refused_and_changes_nothing(
    plain_api: Api, body: bytes, fragment: str
) -> None:
    prediction_id = _stored_prediction(plain_api)

    response = httpx.post(
        f"{plain_api.url}/identify/{prediction_id}/feedback",
        content=body,
        headers={**KEY, "Content-Type": "application/json"},
    )

    assert_error(response, 413 if b"a" * 1000 in body else 400, fragment)
    assert plain_api.predictions().get(prediction_id).user_has_reviewed is False


def test_feedback_is_stored_and_a_second_answer_replaces_it(plain_api: Api) -> None:
    prediction_id = _stored_prediction(plain_api)
    url = f"{plain_api.url}/identify/{prediction_id}/feedback"

    wrong = httpx.post(url, json={"correct": False, "correction": {"colour": "Lilac"}}, headers=KEY)
    stored = plain_api.predictions().get(prediction_id)
    right = httpx.post(url, json={"correct": True}, headers=KEY)

    assert wrong.status_code == 200
    assert wrong.json() == {
        "success": True,
        "prediction_id": prediction_id,
        "correct": False,
        "correction": {"colour": "lilac"},
    }
    assert stored.user_has_reviewed and feedback_of(stored) is False
    assert stored.user_correction == {"colour": "lilac"}
    assert right.status_code == 200
    again = plain_api.predictions().get(prediction_id)
    assert feedback_of(again) is True and again.user_correction is None


def test_unknown_endpoint_and_wrong_method_answer_in_json(plain_api: Api) -> None:
    assert_error(httpx.get(f"{plain_api.url}/predict"), 404, "no endpoint GET /predict", "/docs")
    assert_error(httpx.get(f"{plain_api.url}/identify", headers=KEY), 405, "GET /identify")


def test_unexpected_error_is_one_sentence_500_and_the_traceback_is_logged(plain_api: Api) -> None:
    broken = plain_api.database["predictions"].insert_one({"model_id": "x"}).inserted_id

    response = httpx.post(
        f"{plain_api.url}/identify/{broken}/feedback", json={"correct": True}, headers=KEY
    )

    assert_error(response, 500, "Something went wrong on the server", "try again later")
    deadline = time.monotonic() + 10  # uvicorn writes the traceback after the answer
    while "KeyError: 'created_at'" not in plain_api.log() and time.monotonic() < deadline:
        time.sleep(0.02)
    log = plain_api.log()
    assert "Traceback" in log and "KeyError: 'created_at'" in log


def test_work_past_the_limit_gets_503_with_retry_after_not_a_pile_up(settings: Settings) -> None:
    release = threading.Event()
    with in_process_api(settings, max_running=1, max_waiting=1) as url:
        with ThreadPoolExecutor(2) as pool:
            held = [pool.submit(post_held_identify, url, release) for _ in range(2)]
            wait_for_work(url, running=1, waiting=1)

            busy = httpx.post(f"{url}/identify", files={"image": ("c.jpg", b"x")}, timeout=5)
            busy_model = httpx.get(f"{url}/model", timeout=5)
            health = httpx.get(f"{url}/health", timeout=5)
            release.set()
            answers = [future.result() for future in held]

        after = httpx.post(f"{url}/identify", files={"image": ("c.jpg", b"x")}, timeout=30)
        assert wait_for_work(url, running=0, waiting=0)["max_running"] == 1

    message = assert_error(busy, 503, "The server is busy with 2 requests; try again in 1 s.")
    assert busy.headers["Retry-After"] == "1"
    assert assert_error(busy_model, 503) == message
    assert health.status_code == 200
    for answer in [*answers, after]:  # each admitted request got its own answer
        assert_error(answer, 422, "x.jpg" if answer is not after else "c.jpg")


def test_serve_api_refuses_a_bad_port_in_one_sentence(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "jobs.serve_api", "--host", "127.0.0.1", "--port"]
    try:
        bad = subprocess.run([*command, "70000"], env=env, capture_output=True, text=True)
        busy = subprocess.run(
            [*command, str(taken.getsockname()[1])], env=env, capture_output=True, text=True
        )
    finally:
        taken.close()

    assert bad.returncode == 2
    assert (
        bad.stderr == "error: --port '70000' is not a port; use a whole number from 1 to 65535.\n"
    )
    assert busy.returncode == 2
    assert busy.stderr.count("\n") == 1 and "is already in use" in busy.stderr


# --- a tiny trained cat model ---------------------------------------------------------------


@pytest.mark.slow
def test_identify_answers_with_the_active_models_traits_and_breeder_words(cat_api: Api) -> None:
    photo = photos("cat_phenotype", 1)[0]

    response = post_photo(cat_api, photo)

    assert response.status_code == 200, response.text
    answer = response.json()
    active = ModelRepository(cat_api.database).active()
    assert answer["success"] is True and answer["model_id"] == active.id
    assert answer["schema"] == "cat_phenotype" and isinstance(answer["is_cat"], bool)
    assert "predictions" not in answer  # the breed list is for single-trait schemas
    label = answer["label"]
    assert label["is_cat"] is answer["is_cat"]
    assert answer["name"] == genetics.usual_name(label)
    expected_genotype = genetics.genotype(label, answer["unsure"])
    assert answer["genotype"] == (expected_genotype.line if expected_genotype else None)
    assert set(answer["traits"]) == set(label)
    for name, trait in answer["traits"].items():
        assert trait["value"] == label[name]
        assert abs(sum(trait["probabilities"].values()) - 1) < 2e-3
        assert trait["probability"] == max(trait["probabilities"].values())
        assert trait["unsure"] is (name in answer["unsure"])
        assert all(a["probability"] <= trait["probability"] for a in trait["alternatives"])
        assert trait["value"] not in [a["value"] for a in trait["alternatives"]]


@pytest.mark.slow
def test_identify_gives_what_the_prediction_service_gives_in_process(cat_api: Api) -> None:
    from core.images import decode_image
    from core.services.predictions import ActiveModelCache, identify

    loaded = ActiveModelCache(ModelRepository(cat_api.database)).get()
    for photo in photos("cat_phenotype", 3, seed=5):
        answer = post_photo(cat_api, photo, params={"store": "false"}).json()
        local = identify(loaded, decode_image(photo))

        assert answer["label"] == local.label and answer["unsure"] == local.unsure
        for name, trait in answer["traits"].items():
            assert trait["probability"] == pytest.approx(local.traits[name].probability, abs=2e-4)


@pytest.mark.slow
def test_phone_photos_are_identified_and_the_bad_ones_named_in_one_sentence(
    cat_api: Api,
) -> None:
    for filename, data in phone_files():
        files = {"image": (filename, data, "application/octet-stream")}
        response = httpx.post(f"{cat_api.url}/identify", files=files, params={"store": "false"})

        if filename in ("IMG_0042.HEIC", "cut.jpg"):
            message = assert_error(response, 422, repr(filename))
            assert message.count(". ") == 0, message
        else:
            assert response.status_code == 200, (filename, response.text)
            assert response.json()["label"], filename


@pytest.mark.slow
def test_identify_stores_the_prediction_without_the_photo_unless_asked(cat_api: Api) -> None:
    first, second = photos("cat_phenotype", 2, seed=11)

    plain = post_photo(cat_api, first).json()
    kept = post_photo(cat_api, second, params={"keep_photo": "true"}).json()

    stored = cat_api.predictions().get(plain["prediction_id"])
    assert stored.channel == "api" and stored.model_id == plain["model_id"]
    assert stored.label == plain["label"] and stored.unsure == plain["unsure"]
    assert not stored.has_image
    with_photo = cat_api.predictions().get(kept["prediction_id"])
    assert cat_api.predictions().image_bytes(with_photo) == second


@pytest.mark.slow
def test_identify_with_store_false_stores_nothing(cat_api: Api) -> None:
    photo = photos("cat_phenotype", 1, seed=12)[0]
    before = cat_api.predictions().count()

    by_query = post_photo(cat_api, photo, params={"store": "false"})
    by_field = post_photo(cat_api, photo, data={"store": "0"})

    assert by_query.json()["prediction_id"] is None and by_field.json()["prediction_id"] is None
    assert by_query.json()["label"] == by_field.json()["label"]
    assert cat_api.predictions().count() == before


@pytest.mark.slow
def test_feedback_on_an_identified_photo_is_stored(cat_api: Api) -> None:
    answer = post_photo(cat_api, photos("cat_phenotype", 1, seed=13)[0]).json()
    url = f"{cat_api.url}/identify/{answer['prediction_id']}/feedback"

    response = httpx.post(
        url,
        json={"correct": False, "correction": {"pattern": "van"}},
        headers={"X-Feedback-Secret": answer["feedback_secret"]},
    )

    assert response.status_code == 200 and response.json()["correction"] == {"pattern": "van"}
    stored = cat_api.predictions().get(answer["prediction_id"])
    assert feedback_of(stored) is False and stored.user_correction == {"pattern": "van"}


@pytest.mark.slow
def test_feedback_without_the_predictions_secret_is_403_and_changes_nothing(
    cat_api: Api,
) -> None:
    answer = post_photo(cat_api, photos("cat_phenotype", 1, seed=14)[0]).json()
    other = post_photo(cat_api, photos("cat_phenotype", 1, seed=15)[0]).json()
    url = f"{cat_api.url}/identify/{answer['prediction_id']}/feedback"

    guessed = httpx.post(url, json={"correct": True})
    borrowed = httpx.post(
        url, json={"correct": True}, headers={"X-Feedback-Secret": other["feedback_secret"]}
    )

    assert (
        len(answer["feedback_secret"]) >= 32
        and answer["feedback_secret"] != other["feedback_secret"]
    )
    assert_error(guessed, 403, "feedback_secret")
    assert_error(borrowed, 403, "feedback_secret")
    assert cat_api.predictions().get(answer["prediction_id"]).user_has_reviewed is False


@pytest.mark.slow
def test_model_and_health_describe_the_active_model(cat_api: Api) -> None:
    active = ModelRepository(cat_api.database).active()

    model = httpx.get(f"{cat_api.url}/model").json()["model"]
    health = httpx.get(f"{cat_api.url}/health").json()

    assert model["id"] == active.id and model["backbone"] == "small_cnn"
    assert model["image_size"] == 48 and model["training_set_size"] == 48
    assert [t["name"] for t in model["schema"]["traits"]] == CAT_PHENOTYPE.trait_names
    assert set(model["metrics"]) == set(CAT_PHENOTYPE.trait_names)
    assert "val_accuracy" in model["metrics"]["colour"]
    assert health["status"] == "ok" and health["warehouse"]["ok"] is None
    assert health["model"]["loaded"] is True and health["model"]["active_id"] == active.id


@pytest.mark.slow
def test_concurrent_requests_each_get_their_own_photos_answer(cat_api: Api) -> None:
    batch = photos("cat_phenotype", 8, seed=21)
    alone = [post_photo(cat_api, p, params={"store": "false"}).json() for p in batch]

    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda p: post_photo(cat_api, p).json(), batch))

    for single, concurrent in zip(alone, together, strict=True):
        assert concurrent["label"] == single["label"]
        for name, trait in concurrent["traits"].items():
            assert trait["probability"] == pytest.approx(
                single["traits"][name]["probability"], abs=2e-4
            )
    assert len({answer["prediction_id"] for answer in together}) == 8


# --- a dog-breed model activated while the server runs --------------------------------------


@pytest.mark.slow
def test_a_model_activated_while_serving_is_picked_up(dog_api: Api) -> None:
    before = dog_api.before_model

    assert before["health"]["model"]["state"] == "no active model"
    assert_error(before["identify"], 503, "No model is active yet")
    health = httpx.get(f"{dog_api.url}/health").json()
    assert health["model"]["loaded"] is True and health["model"]["schema"] == "dog_breed"


@pytest.mark.slow
def test_dog_answer_has_the_breed_predictions_list(dog_api: Api) -> None:
    photo = photos("dog_breed", 1, seed=8)[0]

    answer = post_photo(dog_api, photo).json()

    breeds = ModelRepository(dog_api.database).active().schema.trait("breed").values
    predictions = answer["predictions"]
    assert [set(p) for p in predictions] == [{"breed", "probability"}] * len(breeds)
    assert {p["breed"] for p in predictions} == set(breeds)
    probabilities = [p["probability"] for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert abs(sum(probabilities) - 1) < 5e-3
    assert predictions[0]["breed"] == answer["label"]["breed"]
    # a photo unlike the tiny model's few training images gets no name, only the sentence
    named = None if answer["unfamiliar"] else predictions[0]["breed"]
    assert answer["name"] == named
    assert (answer["message"] is None) != answer["unfamiliar"]
    assert predictions[0]["probability"] == answer["traits"]["breed"]["probability"]
    assert "is_cat" not in answer and answer["genotype"] is None
    assert dog_api.predictions().get(answer["prediction_id"]).label == answer["label"]


@pytest.mark.slow
def test_measure_api_loads_a_real_server_and_reports_its_speed(
    cat_api: Api, mongo_uri: str, tmp_path: Path
) -> None:
    from jobs.bench.api import measure_api

    settings = Settings(mongo_uri=mongo_uri, mongo_db=cat_api.database.name, data_dir=tmp_path)
    before = cat_api.predictions().count()

    figures = measure_api(settings, requests=24, clients=3, store=False)

    assert figures["requests"] == 24 and figures["clients"] == 3 and figures["failed"] == 0
    assert figures["backbone"] == "small_cnn" and figures["schema"] == "cat_phenotype"
    assert figures["rps"] > 0 and 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    assert cat_api.predictions().count() == before
