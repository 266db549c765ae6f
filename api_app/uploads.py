"""Reading request bodies without ever holding more than the limit: forms, photos, JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive

from api_app.docs import CURL_HINT, IMAGE_FIELD
from core.errors import UserError
from core.services.identify_requests import (
    MAX_JSON_BYTES,
    UploadTooLargeError,
    check_content_length,
    too_large_error,
)
from core.sizes import size_text


def _bounded(
    receive: Receive, limit_bytes: int, shown_limit_bytes: int
) -> Callable[[], Awaitable[Message]]:
    """A receive that raises UploadTooLargeError once the body passes limit_bytes."""
    seen = 0

    async def bounded_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit_bytes:
                raise too_large_error(None, shown_limit_bytes)
        return message

    return bounded_receive


async def read_feedback_body(request: Request) -> bytes:
    """The feedback JSON, refused from Content-Length or while reading when over 64 KB."""
    too_large = UploadTooLargeError(
        f"The feedback body is over {size_text(MAX_JSON_BYTES)}; send only correct and correction."
    )
    return await read_json_body(request, too_large)


async def read_json_body(request: Request, too_large: UploadTooLargeError) -> bytes:
    """A JSON body of at most MAX_JSON_BYTES, refused from Content-Length or while reading."""
    header = request.headers.get("content-length")
    if header is not None and header.isdigit() and int(header) > MAX_JSON_BYTES:
        raise too_large
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > MAX_JSON_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, limit_bytes: int, shown_limit_bytes: int) -> FormData:
    """The multipart form, read without ever holding more than limit_bytes of body.

    shown_limit_bytes is the photo limit that messages name (the body also holds the framing).
    """
    check_content_length(request.headers.get("content-length"), limit_bytes, shown_limit_bytes)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        shown = content_type.split(";")[0] or "none"
        raise UserError(
            f"The request is {shown!r}, not multipart/form-data; send the photo in a form field "
            f"named 'image' ({CURL_HINT})."
        )
    limited = Request(request.scope, _bounded(request.receive, limit_bytes, shown_limit_bytes))
    try:
        return await limited.form(max_files=2, max_fields=10)
    except StarletteHTTPException as err:  # what Starlette raises for a malformed form
        raise UserError(
            f"The upload is not well-formed multipart data ({str(err.detail).rstrip('.')}); "
            f"send the photo in a form field named 'image' ({CURL_HINT})."
        ) from None


def take_image(form: FormData) -> UploadFile:
    """The one uploaded file in the `image` field, or a UserError saying what was sent."""
    values = form.getlist(IMAGE_FIELD)
    if not values:
        sent = ", ".join(repr(key) for key in form) or "no fields"
        raise UserError(
            f"The request has no file in the form field 'image' (it sent {sent}); "
            f"attach the photo as image ({CURL_HINT})."
        )
    if len(values) > 1:
        raise UserError(
            f"The request has {len(values)} files in 'image'; send one photo per request."
        )
    upload = values[0]
    if not isinstance(upload, UploadFile):
        raise UserError(
            f"The form field 'image' holds text, not a file; attach the photo itself ({CURL_HINT})."
        )
    return upload


def option(request: Request, form: FormData, name: str) -> str | None:
    """A yes/no option given as a query parameter (?store=false) or as a form field."""
    value = request.query_params.get(name) or form.get(name)
    return value if isinstance(value, str) else None
