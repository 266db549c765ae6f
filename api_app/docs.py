"""The identify API's OpenAPI documentation: request bodies, examples, error answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from core.services.identify_requests import FeedbackBody

IMAGE_FIELD = "image"
CURL_HINT = "e.g. curl -F image=@cat.jpg"

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
FEEDBACK_BODY = {  # the schema comes from the model that checks the body
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": FeedbackBody.model_json_schema()}},
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
    "feedback_secret": "q3Zt0mXcV8yJ1bKf2nR5sHw7LpA9dE4u",
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
    403: "Feedback without the prediction's feedback_secret (X-Feedback-Secret header)",
    404: "No stored prediction has this id",
    413: "The upload is over MAX_UPLOAD_MB (or the feedback over 64 KB)",
    422: "The file is not a usable image (not an image, corrupt, too small, too many pixels)",
    503: "No model is active yet, the database does not answer, or the server is busy "
    "(then with Retry-After)",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    example = {"application/json": {"example": ERROR_EXAMPLE}}
    return {code: {"description": ERROR_DESCRIPTIONS[code], "content": example} for code in codes}


def drop_validation_error_docs(app: FastAPI) -> None:
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


def new_app(**options: Any) -> FastAPI:
    """A FastAPI app whose /docs page works offline (Swagger UI served from a package)."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:  # the docs page then loads Swagger UI from a CDN
        return FastAPI(**options)
    return FastAPIOffline(**options, redoc_url=None, static_url="/docs-static")
