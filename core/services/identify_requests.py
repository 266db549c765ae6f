"""Checking what a caller sends the identify API: sizes, options, the key, feedback bodies."""

from __future__ import annotations

import hmac
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from core.errors import UserError
from core.labels import LabelSchema
from core.sizes import size_text
from core.text import parse_yes_no

MAX_JSON_BYTES = 64 * 1024  # a feedback body is a few hundred bytes
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers and small fields
FEEDBACK_EXAMPLE = '{"correct": false, "correction": {"colour": "blue"}}'


class UploadTooLargeError(UserError):
    """The request body is over the upload limit (HTTP 413)."""


class MissingApiKeyError(UserError):
    """The API needs a key and the request has none, or a wrong one (HTTP 401)."""


class FeedbackBody(BaseModel):
    """The body of POST /identify/{id}/feedback: was the prediction right, and what is right."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"example": {"correct": False, "correction": {"colour": "blue"}}},
    )

    correct: bool
    correction: dict[str, Any] | None = Field(
        default=None,
        description="Only with correct=false: the right value of the traits the model got "
        'wrong, e.g. {"colour": "blue"}.',
    )


def too_large_error(num_bytes: int | None, limit_bytes: int) -> UploadTooLargeError:
    """The one message for an upload over the limit (num_bytes None when not read to the end)."""
    size = "" if num_bytes is None else f"{size_text(num_bytes)}, "
    return UploadTooLargeError(
        f"The upload is {size}over the {size_text(limit_bytes)} limit (MAX_UPLOAD_MB); "
        "send a smaller or more compressed photo."
    )


def check_content_length(header: str | None, limit_bytes: int, shown_limit_bytes: int) -> None:
    """Refuse a request whose declared length is over the limit, before reading its body."""
    if header is None:
        return  # chunked: the body is counted while it is read
    try:
        declared = int(header)
    except ValueError:
        raise UserError(
            f"Content-Length {header!r} is not a number of bytes; send a well-formed request."
        ) from None
    if declared > limit_bytes:
        raise too_large_error(declared, shown_limit_bytes)


def parse_flag(name: str, raw: str | None, *, default: bool) -> bool:
    """A yes/no request parameter such as store=false; UserError for anything else."""
    if raw is None or raw.strip() == "":
        return default
    flag = parse_yes_no(raw)
    if flag is not None:
        return flag
    raise UserError(f"Parameter {name}={raw!r} is not a yes/no value; use {name}=true or false.")


def check_api_key(expected: str | None, x_api_key: str | None, authorization: str | None) -> None:
    """Pass when no key is configured or the request carries it (X-API-Key or Bearer)."""
    if not expected:
        return
    given = x_api_key
    if given is None and authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            given = token.strip()
    if not given:
        raise MissingApiKeyError(
            "This API needs a key; send it in the X-API-Key header or as Authorization: Bearer."
        )
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise MissingApiKeyError("The API key is not valid; check the key you were given.")


def _not_json(reason: str) -> str:
    return f"The feedback body is not valid JSON ({reason}); send JSON such as {FEEDBACK_EXAMPLE}."


def _feedback_problem(error: ErrorDetails) -> str:
    """One sentence for the first thing pydantic found wrong in a feedback body."""
    kind, where, value = error["type"], error["loc"], error.get("input")
    if kind == "json_invalid":
        return _not_json(str(error.get("ctx", {}).get("error", "bad syntax")))
    if not where:
        return f"The feedback body must be a JSON object, not {value!r}; send {FEEDBACK_EXAMPLE}."
    if kind == "extra_forbidden":
        return f"The feedback field {where[0]!r} is not known; send only correct and correction."
    if kind == "missing":
        return f"The feedback misses the field {where[0]!r}; send {FEEDBACK_EXAMPLE}."
    if where[0] == "correct":
        return f"The field 'correct' must be true or false, not {value!r}."
    return f"The field 'correction' must be an object of trait to value, not {value!r}."


def parse_feedback(body: bytes, schema: LabelSchema) -> tuple[bool, dict[str, Any] | None]:
    """(correct, correction) from a feedback body; UserError saying what is wrong otherwise."""
    if not body.strip():
        raise UserError(f"The feedback body is empty; send JSON such as {FEEDBACK_EXAMPLE}.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(_not_json("not UTF-8")) from None
    try:
        feedback = FeedbackBody.model_validate_json(text)
    except ValidationError as err:
        raise UserError(_feedback_problem(err.errors()[0])) from None
    if not feedback.correction:
        return feedback.correct, None
    if feedback.correct:
        raise UserError(
            "A correction only goes with 'correct': false; drop it or set correct to false."
        )
    return feedback.correct, schema.validate(feedback.correction, partial=True)
