"""The identify HTTP API: POST /identify and its feedback, GET /model and /health.

`create_app(settings)` builds the FastAPI app; `python -m jobs.serve_api` serves it with uvicorn.
Routes are thin: read the request, call one `IdentifyService` method, return its JSON. Every
error is `{"success": false, "error": "<one sentence>"}` with a 4xx status, or a 503 when the
model or database is missing or the server is full, never a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPBearer
from pymongo.errors import PyMongoError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api_app.docs import (
    FEEDBACK_BODY,
    IDENTIFY_BODY,
    IDENTIFY_EXAMPLE,
    drop_validation_error_docs,
    error_responses,
    new_app,
)
from api_app.errors import error_response, status_for
from api_app.limits import LimitWork, WorkLimit
from api_app.litter import (
    LITTER_BODY,
    LITTER_RESPONSES,
    answer_litter,
    parse_litter_body,
    read_litter_body,
)
from api_app.uploads import option, read_feedback_body, read_form, take_image
from core.config import Settings
from core.errors import UserError
from core.images import ImageError, read_limited
from core.services.identify_api import IdentifyService
from core.services.identify_requests import (
    check_api_key,
    parse_flag,
    too_large_error,
)

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="IDENTIFY_API_KEY")
_bearer = HTTPBearer(auto_error=False, description="IDENTIFY_API_KEY as a bearer token")


def create_app(
    settings: Settings, *, max_running: int | None = None, max_waiting: int | None = None
) -> FastAPI:
    """The identify API over the database and active model that the settings point at.

    At most max_running requests (default: one per core) work at once and max_waiting (four
    times that) wait; further ones get 503 with Retry-After instead of piling up.
    """
    service = IdentifyService(settings)
    work = WorkLimit(max_running, max_waiting)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # connect and load the model in the background: /health answers from the first moment
        threading.Thread(target=service.start, name="start", daemon=True).start()
        yield

    app = new_app(
        title="Cat Identifier: identify API",
        version="1.0",
        description=(
            "Identify a photo with the active model: POST /identify with a multipart field "
            "`image`, as the first dog-breed service did. Send the key in `X-API-Key` or "
            "`Authorization: Bearer` when the server sets IDENTIFY_API_KEY."
        ),
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.work = work
    app.add_middleware(LimitWork, limit=work, paths=("/identify", "/model", "/litter"))

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
                "litter": "POST /litter",
                "health": "/health",
            }
        )

    @app.get("/health", tags=["service"], summary="Whether the API, database and model are up")
    async def health() -> JSONResponse:
        answer = await run_in_threadpool(service.health)
        return JSONResponse({**answer, "work": work.state()})

    @app.get(
        "/model",
        tags=["service"],
        summary="The active model: schema, backbone, metrics",
        dependencies=[Security(require_api_key)],
        responses=error_responses(401, 503),
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
            **error_responses(400, 401, 413, 422, 503),
        },
    )
    async def identify_photo(request: Request) -> JSONResponse:
        form = await read_form(request, service.upload_limit_bytes, settings.max_upload_bytes)
        try:
            upload = take_image(form)
            store_flag = parse_flag("store", option(request, form, "store"), default=True)
            keep_flag = parse_flag("keep_photo", option(request, form, "keep_photo"), default=False)
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
        responses=error_responses(400, 401, 403, 404, 413),
    )
    async def feedback(
        prediction_id: str,
        request: Request,
        x_feedback_secret: Annotated[
            str | None,
            Header(
                description="The feedback_secret that POST /identify gave with this prediction "
                "(not needed when the server sets IDENTIFY_API_KEY and the request has the key)"
            ),
        ] = None,
    ) -> JSONResponse:
        body = await read_feedback_body(request)
        answer = await run_in_threadpool(
            service.feedback, prediction_id, body, feedback_secret=x_feedback_secret
        )
        return JSONResponse(answer)

    @app.post(
        "/litter",
        tags=["litter"],
        summary="Plan a litter: the kittens' coats with their odds, by sex",
        dependencies=[Security(require_api_key)],
        openapi_extra=LITTER_BODY,
        responses=LITTER_RESPONSES,
    )
    async def litter(request: Request) -> JSONResponse:
        body = parse_litter_body(await read_litter_body(request))
        try:
            return JSONResponse(await run_in_threadpool(answer_litter, body))
        except UserError as err:  # well-formed, but the genetics rules the parents out
            return error_response(422, str(err))

    drop_validation_error_docs(app)
    return app
