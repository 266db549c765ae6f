"""The identify HTTP API: the dog-breed seed's POST /identify, over the prediction service.

`create_app(settings)` builds the FastAPI app; `python -m jobs.serve_api` serves it with uvicorn.
Routes are thin: read the request, call one `IdentifyService` method, return its JSON. Every
error is `{"success": false, "error": "<one sentence>"}` with a 4xx status, or a 503 when the
model or database is missing, never a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from pymongo.errors import PyMongoError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

from core.config import Settings
from core.errors import NotFoundError, ServiceUnavailableError, UserError
from core.images import ImageError, read_limited
from core.services.identify_api import (
    MAX_JSON_BYTES,
    IdentifyService,
    MissingApiKeyError,
    UploadTooLargeError,
    check_api_key,
    check_content_length,
    parse_flag,
    too_large_error,
)
from core.services.predictions import NoActiveModelError

IMAGE_FIELD = "image"
CURL_HINT = "e.g. curl -F image=@cat.jpg"

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="IDENTIFY_API_KEY")
_bearer = HTTPBearer(auto_error=False, description="IDENTIFY_API_KEY as a bearer token")

IDENTIFY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [IMAGE_FIELD],
                    "properties": {
                        IMAGE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "The photo: JPEG, PNG, WebP, GIF, BMP or TIFF.",
                        },
                        "store": {
                            "type": "boolean",
                            "default": True,
                            "description": "false: do not store the prediction (or ?store=false).",
                        },
                        "keep_photo": {
                            "type": "boolean",
                            "default": False,
                            "description": "true: keep the photo with the stored prediction, "
                            "for the administrators' review (or ?keep_photo=true).",
                        },
                    },
                }
            }
        },
    }
}
FEEDBACK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["correct"],
                    "properties": {
                        "correct": {"type": "boolean"},
                        "correction": {
                            "type": "object",
                            "description": "Only with correct=false: the right value of the "
                            'traits the model got wrong, e.g. {"colour": "blue"}.',
                        },
                    },
                },
                "example": {"correct": False, "correction": {"colour": "blue"}},
            }
        },
    }
}
ERROR_EXAMPLE = {"success": False, "error": "One sentence: what is wrong and what to do."}


def _yes_no(title: str, value: bool, probability: float) -> dict[str, Any]:
    other = round(1 - probability, 2)
    yes, no = (probability, other) if value else (other, probability)
    return {
        "title": title,
        "value": value,
        "probability": probability,
        "unsure": False,
        "alternatives": [{"value": not value, "probability": other}],
        "probabilities": {"no": no, "yes": yes},
    }


COLOURS_EXAMPLE = {"black": 0.04, "blue": 0.86, "chocolate": 0.0, "lilac": 0.08, "cinnamon": 0.0,
                   "fawn": 0.0, "red": 0.0, "cream": 0.01, "white": 0.01}  # fmt: skip
IDENTIFY_EXAMPLE = {
    "success": True,
    "prediction_id": "6b0c3a2f9d1e4b0012ab34cd",
    "model_id": "6b0c2dd3e6f7cbd0849edfb4",
    "schema": "cat_phenotype",
    "is_cat": True,
    "name": "blue tabby bicolour",
    "genotype": "B- dd A- Ss C-",
    "flags": [],
    "label": {
        "is_cat": True,
        "colour": "blue",
        "is_tabby": True,
        "pattern": "bicolour",
        "is_pointed": False,
    },  # fmt: skip
    "unsure": [],
    "traits": {
        "is_cat": _yes_no("Cat", True, 0.99),
        "colour": {
            "title": "Colour",
            "value": "blue",
            "probability": 0.86,
            "unsure": False,
            "alternatives": [
                {"value": "lilac", "probability": 0.08},
                {"value": "black", "probability": 0.04},
                {"value": "cream", "probability": 0.01},
            ],
            "probabilities": COLOURS_EXAMPLE,
        },
        "is_tabby": _yes_no("Tabby", True, 0.91),
        "pattern": {
            "title": "Pattern",
            "value": "bicolour",
            "probability": 0.78,
            "unsure": False,
            "alternatives": [
                {"value": "self", "probability": 0.15},
                {"value": "van", "probability": 0.07},
            ],
            "probabilities": {"self": 0.15, "bicolour": 0.78, "van": 0.07},
        },
        "is_pointed": _yes_no("Colourpoint", False, 0.95),
    },
}


ERROR_DESCRIPTIONS = {
    400: "A bad request: no photo, a bad option or a bad feedback body",
    401: "No API key, or a wrong one (when the server sets IDENTIFY_API_KEY)",
    404: "No stored prediction has this id",
    413: "The upload is over MAX_UPLOAD_MB (or the feedback over 64 KB)",
    422: "The file is not a usable image (not an image, corrupt, too small, too many pixels)",
    503: "No model is active yet, or the database does not answer",
}


def _error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    example = {"application/json": {"example": ERROR_EXAMPLE}}
    return {code: {"description": ERROR_DESCRIPTIONS[code], "content": example} for code in codes}


def _drop_validation_error_docs(app: FastAPI) -> None:
    """Leave FastAPI's 422 validation-error schema out of the docs: errors here are ours."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema["paths"].values():
                for operation in operations.values():
                    if "HTTPValidationError" in str(operation["responses"].get("422")):
                        del operation["responses"]["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def status_for(err: UserError) -> int:
    """The HTTP status of an error meant for the caller."""
    if isinstance(err, MissingApiKeyError):
        return 401
    if isinstance(err, UploadTooLargeError):
        return 413
    if isinstance(err, NotFoundError):
        return 404
    if isinstance(err, NoActiveModelError | ServiceUnavailableError):
        return 503
    if isinstance(err, ImageError):
        return 422
    return 400


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status, headers=headers)


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
        f"The feedback body is over {MAX_JSON_BYTES // 1024} KB; send only correct and correction."
    )
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


def create_app(settings: Settings) -> FastAPI:
    """The identify API over the database and active model that the settings point at."""
    service = IdentifyService(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # connect and load the model in the background: /health answers from the first moment
        threading.Thread(target=service.start, name="start", daemon=True).start()
        yield

    app = _new_app(
        title="Cat Identifier: identify API",
        version="1.0",
        description=(
            "Identify a photo with the active model: POST /identify with a multipart field "
            "`image`, as the dog-breed seed's service. Send the key in `X-API-Key` or "
            "`Authorization: Bearer` when the server sets IDENTIFY_API_KEY."
        ),
        lifespan=lifespan,
    )
    app.state.service = service

    async def require_api_key(
        request: Request,
        _key: Annotated[str | None, Security(_api_key_header)] = None,
        _bearer_token: Annotated[Any, Security(_bearer)] = None,
    ) -> None:
        check_api_key(
            settings.identify_api_key,
            request.headers.get("x-api-key"),
            request.headers.get("authorization"),
        )

    @app.exception_handler(UserError)
    async def user_error(_request: Request, err: UserError) -> JSONResponse:
        status = status_for(err)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(status, str(err), headers)

    @app.exception_handler(PyMongoError)
    async def database_error(_request: Request, err: PyMongoError) -> JSONResponse:
        return error_response(
            503,
            f"The database does not answer right now ({type(err).__name__}); try again shortly.",
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        where = f"{request.method} {request.url.path}"
        if err.status_code == 404:
            message = f"There is no endpoint {where}; see /docs for the endpoints."
        elif err.status_code == 405:
            message = f"{where} is not allowed; see /docs for the methods of each endpoint."
        else:
            message = str(err.detail)
        return error_response(err.status_code, message, getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())) or "the request"
        return error_response(
            400, f"{where} is not valid ({first.get('msg', 'bad value')}); see /docs."
        )

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_request: Request, _err: ClientDisconnect) -> JSONResponse:
        # nobody reads this answer; handled so that a dropped upload logs no traceback
        return error_response(400, "The client disconnected before the upload was complete.")

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, _err: Exception) -> JSONResponse:
        # Starlette re-raises after this response, so uvicorn logs the traceback server-side
        return error_response(
            500,
            f"Something went wrong on the server while answering {request.url.path}; "
            "it is logged for the administrators, please try again later.",
        )

    @app.get("/", include_in_schema=False)
    async def index() -> JSONResponse:
        return JSONResponse(
            {
                "service": app.title,
                "docs": "/docs",
                "identify": "POST /identify",
                "health": "/health",
            }
        )

    @app.get("/health", tags=["service"], summary="Whether the API, database and model are up")
    async def health() -> JSONResponse:
        return JSONResponse(await run_in_threadpool(service.health))

    @app.get(
        "/model",
        tags=["service"],
        summary="The active model: schema, backbone, metrics",
        dependencies=[Security(require_api_key)],
        responses=_error_responses(401, 503),
    )
    async def model() -> JSONResponse:
        return JSONResponse(await run_in_threadpool(service.model_info))

    @app.post(
        "/identify",
        tags=["identify"],
        summary="Identify a photo (multipart field `image`)",
        dependencies=[Security(require_api_key)],
        openapi_extra=IDENTIFY_BODY,
        responses={
            200: {"content": {"application/json": {"example": IDENTIFY_EXAMPLE}}},
            **_error_responses(400, 401, 413, 422, 503),
        },
    )
    async def identify_photo(request: Request) -> JSONResponse:
        form = await read_form(request, service.upload_limit_bytes, settings.max_upload_bytes)
        try:
            upload = take_image(form)
            store_flag = parse_flag("store", _option(request, form, "store"), default=True)
            keep_flag = parse_flag(
                "keep_photo", _option(request, form, "keep_photo"), default=False
            )
            filename = upload.filename or "image"
            limit = settings.max_upload_bytes
            data = await run_in_threadpool(read_limited, upload.file, limit, filename)
        except ImageError as err:  # read_limited: the photo alone is over the limit
            raise too_large_error(None, settings.max_upload_bytes) from err
        finally:
            await form.close()
        answer = await run_in_threadpool(
            service.identify_upload, data, filename, store=store_flag, keep_photo=keep_flag
        )
        return JSONResponse(answer)

    @app.post(
        "/identify/{prediction_id}/feedback",
        tags=["identify"],
        summary="Say whether a stored prediction was right, and what is right",
        dependencies=[Security(require_api_key)],
        openapi_extra=FEEDBACK_BODY,
        responses=_error_responses(400, 401, 404, 413),
    )
    async def feedback(prediction_id: str, request: Request) -> JSONResponse:
        body = await read_feedback_body(request)
        return JSONResponse(await run_in_threadpool(service.feedback, prediction_id, body))

    _drop_validation_error_docs(app)
    return app


def _new_app(**options: Any) -> FastAPI:
    """A FastAPI app whose /docs page works offline (Swagger UI served from a package)."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:  # the docs page then loads Swagger UI from a CDN
        return FastAPI(**options)
    return FastAPIOffline(**options, redoc_url=None, static_url="/docs-static")


def _option(request: Request, form: FormData, name: str) -> str | None:
    """A yes/no option given as a query parameter (?store=false) or as a form field."""
    value = request.query_params.get(name) or form.get(name)
    return value if isinstance(value, str) else None
