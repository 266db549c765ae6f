"""How errors become answers: the status of each kind, and the one JSON shape."""

from __future__ import annotations

from fastapi.responses import JSONResponse

from core.errors import NotFoundError, ServiceUnavailableError, UserError
from core.images import ImageError
from core.services.identify_requests import MissingApiKeyError, UploadTooLargeError
from core.services.predictions import FeedbackNotAllowedError, NoActiveModelError


def status_for(err: UserError) -> int:
    """The HTTP status of an error meant for the caller."""
    if isinstance(err, MissingApiKeyError):
        return 401
    if isinstance(err, FeedbackNotAllowedError):
        return 403
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
    """The one shape of every error answer: {"success": false, "error": "<one sentence>"}."""
    return JSONResponse({"success": False, "error": message}, status_code=status, headers=headers)
