"""POST /litter as programs use it: a real uvicorn process over the embedded MongoDB.

The same numbers as the service in process for a known cross, the API key, the bound on
concurrent work, and one-sentence 4xx answers for bad bodies and for parents genetics rules out.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api_app.docs import IDENTIFY_EXAMPLE
from core.config import Settings
from core.services.litter import ParentSpec, plan_litter
from tests.api_helpers import (
    API_KEY,
    KEY,
    Api,
    assert_error,
    in_process_api,
    post_held_identify,
    serving,
    wait_for_work,
)

TORTIE_BY_BLACK = {
    "sire": {"coat": "black", "genotype": "BB DD CC"},
    "dam": {"coat": "tortie", "genotype": "BB DD CC"},
}


@pytest.fixture(scope="module")
def api(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The identify API with an API key and no model (the planner needs none)."""
    folder = tmp_path_factory.mktemp("litter_api")
    with serving(mongo_uri, folder, IDENTIFY_API_KEY=API_KEY) as api:
        yield api


def post_litter(api: Api, body: object, *, headers: dict | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{api.url}/litter",
        content=content,
        headers={"Content-Type": "application/json", **(KEY if headers is None else headers)},
        timeout=30,
    )


def kittens(answer: dict, sex: str) -> dict[str, float]:
    return {row["name"]: row["probability"] for row in answer["kittens"][sex]}


def test_a_known_cross_answers_the_services_numbers(api: Api) -> None:
    response = post_litter(api, TORTIE_BY_BLACK)

    assert response.status_code == 200, response.text
    answer = response.json()
    in_process = plan_litter(
        ParentSpec("black", genotype="BB DD CC"), ParentSpec("tortie", genotype="BB DD CC")
    )
    assert answer == {"success": True, **json.loads(json.dumps(in_process.to_json()))}
    assert kittens(answer, "male") == {"black self": 0.5, "red self": 0.5}
    assert kittens(answer, "female") == {"black self": 0.5, "black tortie": 0.5}
    assert any("XXY" in note for note in answer["notes"])
    assert any(item.startswith("I, the silver inhibitor") for item in answer["not_predicted"])


def test_carriers_lab_results_and_frequencies_reach_the_plan(api: Api) -> None:
    body = {
        "sire": {"coat": "black", "carries": ["chocolate"], "lab_results": {"dilute": "clear"}},
        "dam": {"coat": "black, carries chocolate", "lab_results": {"dilute": "non-carrier"}},
        "allele_frequencies": {"B": {"bl": 0.0}, "C": {"cb": 0.0, "cs": 0.0}},  # no rare alleles
    }
    response = post_litter(api, body)

    assert response.status_code == 200, response.text
    males = kittens(response.json(), "male")
    assert males == {"black self": pytest.approx(0.75), "chocolate self": pytest.approx(0.25)}
    assert response.json()["assumption"].startswith("Assumption: where a parent's coat leaves")


def test_an_identify_answer_can_be_a_parents_coat(api: Api) -> None:
    body = {"sire": {"coat": IDENTIFY_EXAMPLE}, "dam": {"coat": "blue"}}  # blue tabby bicolour
    response = post_litter(api, body)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["sire"]["coat"] == "blue tabby bicolour"
    colours = {row["colour"] for sex in ("male", "female") for row in answer["kittens"][sex]}
    assert colours <= {"blue", "lilac", "fawn", "cream", "blue tortie", "lilac tortie"}


def test_without_the_key_litter_is_401(api: Api) -> None:
    response = post_litter(api, TORTIE_BY_BLACK, headers={})

    assert_error(response, 401, "This API needs a key")
    bearer = post_litter(api, TORTIE_BY_BLACK, headers={"Authorization": f"Bearer {API_KEY}"})
    assert bearer.status_code == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "The litter body is empty"),
        (b'{"sire": {"coat": "black"}', "The litter body is not valid JSON"),
        ([1, 2], "The litter body must be a JSON object, not [1, 2]"),
        ({"sire": {"coat": "black"}}, "The litter body misses the field 'dam'"),
        (
            {**TORTIE_BY_BLACK, "litter_size": 4},
            "The litter field 'litter_size' is not known; send only sire, dam and",
        ),
        (
            {"sire": {"colour": "black"}, "dam": {"coat": "blue"}},
            "The litter field 'sire.colour' is not known",
        ),
        ({"sire": {"coat": 7}, "dam": {"coat": "blue"}}, "The litter field 'sire.coat' is 7;"),
        (
            {"sire": {"coat": "black", "carries": "dilute"}, "dam": {"coat": "blue"}},
            "The litter field 'sire.carries' is 'dilute', which is not valid",
        ),
    ],
)
def test_bad_bodies_are_400_in_one_sentence(api: Api, body: object, fragment: str) -> None:
    assert_error(post_litter(api, body), 400, fragment)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"sire": {"genotype": "X^O X^o Y"}, "dam": {"coat": "blue"}},
            "The sire's genotype 'X^O X^o Y' has 2 O alleles, but a male has one X chromosome; "
            "write X^O Y (red) or X^o Y (not red).",
        ),
        (
            {"sire": {"coat": "blue", "genotype": "D-"}, "dam": {"coat": "blue"}},
            "The sire's genotype 'D-' contradicts its coat 'blue self', which needs dd at D; "
            "correct one of the two.",
        ),
        (
            {"sire": {"coat": {"label": {"is_cat": False}}}, "dam": {"coat": "blue"}},
            "The sire's photo is not a cat, as the model reads it; use another photo or "
            "describe the coat in words.",
        ),
        (
            {"sire": {}, "dam": {"coat": "blue"}},
            "No sire is given; choose a photo of it, describe its coat in words or give its "
            "genotype.",
        ),
        (
            {"sire": {"coat": "black", "carries": ["dilute"]}, "dam": {"coat": "blue"}}
            | {"allele_frequencies": {"Q": {"q": 0.5}}},
            "Allele frequencies are given for 'Q', which is no locus we predict; use one of: O, "
            "B, D, A, Ti, Mc, S, C, W.",
        ),
    ],
)
def test_parents_that_genetics_rules_out_are_422(api: Api, body: dict, message: str) -> None:
    assert assert_error(post_litter(api, body), 422) == message


def test_a_body_over_64_kb_is_413(api: Api) -> None:
    body = {"sire": {"coat": "black " * 20_000}, "dam": {"coat": "blue"}}

    assert_error(post_litter(api, body), 413, "The litter body is over 64 KB")


def test_litter_waits_its_turn_behind_identify_and_is_503_when_full(settings: Settings) -> None:
    release = threading.Event()
    with in_process_api(settings, max_running=1, max_waiting=0) as url:
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(post_held_identify, url, release)
            wait_for_work(url, running=1, waiting=0)
            busy = httpx.post(f"{url}/litter", json=TORTIE_BY_BLACK, timeout=5)
            release.set()
            held.result()
        after = httpx.post(f"{url}/litter", json=TORTIE_BY_BLACK, timeout=30)

    assert_error(busy, 503, "The server is busy", "try again in 1 s.")
    assert after.status_code == 200 and after.json()["success"] is True


def test_docs_describe_the_litter_body(api: Api) -> None:
    spec = httpx.get(f"{api.url}/openapi.json", timeout=10).json()

    body = spec["paths"]["/litter"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["required"] == ["sire", "dam"]
    parent = body["schema"]["properties"]["sire"]
    assert set(parent["properties"]) == {"coat", "genotype", "carries", "lab_results"}
    assert parent["additionalProperties"] is False and "$defs" not in json.dumps(spec)
