"""POST /litter's body: two parents as JSON, checked by a pydantic model, then plan_litter.

The model gives both the check (extra fields refused, strict types) and the OpenAPI schema.
A body that is not this shape is a 400; parents the genetics rules out are a 422.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from api_app.docs import error_responses
from api_app.uploads import read_json_body
from core.errors import UserError
from core.services.identify_requests import MAX_JSON_BYTES, UploadTooLargeError
from core.services.litter import ParentSpec, plan_litter

LITTER_EXAMPLE = {
    "sire": {"coat": "black tabby", "carries": ["dilute"]},
    "dam": {"coat": "blue tortie", "genotype": "B- dd aa", "lab_results": {"chocolate": "carrier"}},
}
SHORT_EXAMPLE = '{"sire": {"coat": "black"}, "dam": {"coat": "blue"}}'


class ParentBody(BaseModel):
    """One parent: coat words or a photo's prediction, and/or genotype, carriers, lab results."""

    model_config = ConfigDict(extra="forbid", strict=True)

    coat: str | dict[str, Any] | None = Field(
        default=None,
        description="Breeder words ('blue tabby, carries chocolate'), or the answer of POST "
        "/identify for the parent's photo (its label and unsure are read).",
    )
    genotype: str | None = Field(
        default=None, description="e.g. 'X^o Y Bb dd A- ss C-'; '-' is an unknown second allele."
    )
    carries: list[str] = Field(
        default_factory=list,
        description="What it is known to carry: chocolate, cinnamon, dilute, non-agouti, "
        "classic, colourpoint, sepia.",
    )
    lab_results: dict[str, str] = Field(
        default_factory=dict,
        description="DNA test per allele: carrier, non-carrier or unknown, e.g. "
        '{"dilute": "carrier"}.',
    )


class LitterBody(BaseModel):
    """The body of POST /litter: the sire, the dam, and optionally population allele odds."""

    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"example": LITTER_EXAMPLE}
    )

    sire: ParentBody
    dam: ParentBody
    allele_frequencies: dict[str, dict[str, float]] | None = Field(
        default=None,
        description="Population allele frequencies instead of equal odds, per locus, e.g. "
        '{"D": {"d": 0.3}}.',
    )


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema with its $defs written in place: OpenAPI has no "#/$defs" to point at."""
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    return inline(schema)


LITTER_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inlined(LitterBody.model_json_schema())}},
    }
}


LITTER_RESPONSES = {
    **error_responses(400, 401, 413, 422, 503),
    400: {**error_responses(400)[400], "description": "The body is not a litter: see its schema"},
    413: {**error_responses(413)[413], "description": "The body is over 64 KB"},
    422: {
        **error_responses(422)[422],
        "description": "Genetics rules the parents out: a male with two O alleles, a genotype "
        "against the coat, a photo that is not a cat",
    },
    503: {**error_responses(503)[503], "description": "The server is busy (with Retry-After)"},
}


def _where(location: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in location]
    if parts[1:2] == ["coat"]:
        parts = parts[:2]  # pydantic names the union member tried ("str"): not for people
    return ".".join(parts)


def _problem(error: ErrorDetails) -> str:
    """One sentence for the first thing pydantic found wrong in a litter body."""
    kind, where, value = error["type"], error["loc"], error.get("input")
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "bad syntax")
        return f"The litter body is not valid JSON ({reason}); send JSON such as {SHORT_EXAMPLE}."
    if not where:
        return f"The litter body must be a JSON object, not {value!r}; send {SHORT_EXAMPLE}."
    field = _where(where)
    if kind == "extra_forbidden":
        known = "sire, dam and allele_frequencies"
        if len(where) > 1:
            known = "coat, genotype, carries and lab_results"
        return f"The litter field {field!r} is not known; send only {known}."
    if kind == "missing":
        return f"The litter body misses the field {field!r}; send {SHORT_EXAMPLE}."
    if field.endswith(".coat"):
        return (
            f"The litter field {field!r} is {value!r}; give coat words or the answer of "
            "POST /identify for the parent's photo."
        )
    reason = error["msg"][:1].lower() + error["msg"][1:]
    return f"The litter field {field!r} is {value!r}, which is not valid ({reason}); see /docs."


def parse_litter_body(body: bytes) -> LitterBody:
    """The checked body of POST /litter; UserError (400) saying what is wrong otherwise."""
    if not body.strip():
        raise UserError(f"The litter body is empty; send JSON such as {SHORT_EXAMPLE}.")
    try:
        return LitterBody.model_validate_json(body)
    except ValidationError as err:
        raise UserError(_problem(err.errors()[0])) from None


async def read_litter_body(request: Request) -> bytes:
    """The litter JSON, refused from Content-Length or while reading when over 64 KB."""
    too_large = UploadTooLargeError(
        f"The litter body is over {MAX_JSON_BYTES // 1024} KB; send two parents only."
    )
    return await read_json_body(request, too_large)


def _spec(parent: ParentBody) -> ParentSpec | None:
    if not (parent.coat or parent.genotype or parent.carries or parent.lab_results):
        return None  # plan_litter says which parent is missing
    return ParentSpec(
        coat=parent.coat,
        genotype=parent.genotype,
        lab_results=parent.lab_results,
        carries=tuple(parent.carries),
    )


def answer_litter(body: LitterBody) -> dict[str, Any]:
    """The plan's JSON for a checked body, with success; UserError when the pairing is refused."""
    plan = plan_litter(
        _spec(body.sire), _spec(body.dam), allele_frequencies=body.allele_frequencies
    )
    return {"success": True, **plan.to_json()}
