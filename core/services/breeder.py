"""The breeder page's work: a photo in, a stored prediction and everything the page shows out.

The page stays thin: it calls ``identify_upload`` once per photo, ``record_feedback`` once per
answer, and renders the ``ResultView`` it gets back. Everything here runs without Streamlit.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageOps
from pymongo.errors import PyMongoError

from core import genetics
from core.db.models import ModelRepository
from core.db.predictions import Prediction, PredictionRepository
from core.errors import ServiceUnavailableError
from core.images import DEFAULT_MAX_BYTES
from core.labels import LabelSchema, Trait
from core.ml.targets import value_name
from core.services.predictions import (
    ActiveModelCache,
    LoadedModel,
    NoActiveModelError,
    decode_for,
    identify,
    store_prediction,
    unfamiliar_sentence,
)

if TYPE_CHECKING:
    from core.ml.prediction import PredictionResult

DISPLAY_SIDE = 720  # pixels: the photo shown beside the result (twice a phone's column width)
GALLERY_SIZE = 20
READING = "Reading your photo…"
Step = Callable[[str], None]


@dataclass(frozen=True)
class PageText:
    """The words of the page for the configured schema."""

    title: str
    intro: str
    best_for: str
    subject: str  # "cat" or "dog"
    working: str  # shown while the model looks at the photo


CAT_TEXT = PageText(
    title="Cat Identifier",
    intro=(
        "Upload a photo of your cat and get its coat in breeder words (colour, tabby, white "
        "pattern and colourpoint) with the genotype a kitten-colour calculator asks for."
    ),
    best_for=(
        "Works best for British Shorthairs older than 8 weeks (kittens' coats are still "
        "changing), one cat per photo, side-on and in daylight."
    ),
    subject="cat",
    working="Looking at your cat…",
)
DOG_TEXT = PageText(
    title="Dog Breed Identifier",
    intro="Upload a photo of your dog and see which breed it looks like, with the runners-up.",
    best_for="Works best with one dog per photo, seen whole, in good light.",
    subject="dog",
    working="Looking at your dog…",
)


def page_text(schema: LabelSchema) -> PageText:
    """The page's words: a cat page for a schema with a gate, a dog page for the breed schema."""
    return DOG_TEXT if schema.gate is None else CAT_TEXT


@dataclass(frozen=True)
class TraitRow:
    """One trait as the page shows it: "Colour: blue", 92 %, not sure or not, runners-up."""

    trait: str
    title: str
    value: str  # "blue", "yes"/"no"
    probability: float
    is_unsure: bool
    alternatives: list[tuple[str, float]]  # other values, most likely first
    genotype: str = ""  # this trait's part of the genotype ("B- dd"); "" when not applicable
    explanation: str = ""  # one line of genetics


@dataclass(frozen=True)
class ResultView:
    """Everything the page shows about one prediction, in the user's words."""

    schema_name: str
    subject: str  # "cat" or "dog"
    passes_gate: bool  # False: the photo is probably not a cat
    gate_probability: float  # how sure the model is of passes_gate (1.0 without a gate)
    name: str  # "blue tabby bicolour", "beagle" or "not a cat"
    headline: str  # "Probably a blue tabby bicolour"
    not_sure: list[str]  # titles of the traits the model is unsure of
    traits: list[TraitRow]
    label: dict[str, Any] = field(default_factory=dict)  # the predicted label
    genotype_line: str = ""  # "B- dd A- Ss C-"; "" for a non-cat or the dog schema
    flags: list[genetics.Flag] = field(default_factory=list)
    is_unfamiliar: bool = False  # unlike the training images: no phenotype, the sentence instead
    unfamiliarity: float | None = None


@dataclass(frozen=True)
class Identification:
    """An identified, stored photo: its prediction id, its view and the photo to show."""

    prediction_id: str
    model_id: str
    view: ResultView
    feedback_secret: str  # lets this visitor (only) answer "is this right?"
    photo: bytes  # JPEG fitted into DISPLAY_SIDE, EXIF-oriented: never stretched
    photo_size: tuple[int, int]
    is_photo_kept: bool
    seconds: float  # upload bytes to stored prediction


@dataclass(frozen=True)
class GalleryItem:
    prediction_id: str
    thumbnail: bytes
    name: str
    feedback: str  # "confirmed", "corrected", "no feedback yet"


def _unavailable(err: PyMongoError) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"The database did not answer ({type(err).__name__}); please try again in a minute."
    )


def _trait_row(
    trait: Trait,
    result: PredictionResult,
    label: Mapping[str, Any],
    found: genetics.Genotype | None = None,
) -> TraitRow:
    prediction = result.traits[trait.name]
    explanation = genetics.explain(label, trait.name) if found else ""
    if found and prediction.is_unsure:
        shown = value_name(trait, prediction.value)
        explanation = f"Not sure from this photo (maybe {shown}); a clearer photo may tell."
    return TraitRow(
        trait=trait.name,
        title=trait.title,
        value=value_name(trait, prediction.value),
        probability=prediction.probability,
        is_unsure=prediction.is_unsure,
        alternatives=list(prediction.alternatives),
        genotype=found.parts.get(trait.name, "") if found else "",
        explanation=explanation,
    )


def result_view(result: PredictionResult, schema: LabelSchema) -> ResultView:
    """The page's view of a prediction: the usual name, rows per trait, genotype and flags."""
    text = page_text(schema)
    gate = schema.gate
    label = dict(result.label)
    unsure_titles = [
        schema.trait(name).title for name in result.unsure if name in schema.trait_names
    ]
    if result.is_unfamiliar:  # before the gate: on such a photo the gate is a guess too
        gate_probability = result.traits[gate.name].probability if gate else 1.0
        return _unfamiliar_view(result, schema, gate_probability, unsure_titles)
    if gate is None:  # the dog schema: its first trait is the breed
        rows = [_trait_row(trait, result, label) for trait in schema.traits]
        name = rows[0].value
        return ResultView(
            schema_name=schema.name,
            subject=text.subject,
            passes_gate=True,
            gate_probability=1.0,
            name=name,
            headline=f"Probably {genetics.with_article(name)}",
            not_sure=unsure_titles,
            traits=rows,
            label=label,
        )
    gate_prediction = result.traits[gate.name]
    if result.passes_gate is False:
        return ResultView(
            schema_name=schema.name,
            subject=text.subject,
            passes_gate=False,
            gate_probability=gate_prediction.probability,
            name=genetics.usual_name(label),
            headline=f"This does not look like a {text.subject}",
            not_sure=unsure_titles,
            traits=[],
            label=label,
        )
    found = genetics.genotype(label, result.unsure)
    sure = {name: value for name, value in label.items() if name not in result.unsure}
    rows = [_trait_row(t, result, sure, found) for t in schema.traits if t is not gate]
    name = genetics.usual_name(label)
    return ResultView(
        schema_name=schema.name,
        subject=text.subject,
        passes_gate=True,
        gate_probability=gate_prediction.probability,
        name=name,
        headline=f"Probably {genetics.with_article(name)}",
        not_sure=unsure_titles,
        traits=rows,
        label=label,
        genotype_line=found.line if found else "",
        flags=genetics.flags(sure),
    )


def _unfamiliar_view(
    result: PredictionResult, schema: LabelSchema, gate_probability: float, unsure: list[str]
) -> ResultView:
    """A photo unlike the training images: the sentence, and no phenotype or genotype."""
    return ResultView(
        schema_name=schema.name,
        subject=page_text(schema).subject,
        passes_gate=result.passes_gate is not False,  # what the gate said, shown to no one
        gate_probability=gate_probability,
        name="",
        headline=unfamiliar_sentence(schema),
        not_sure=unsure,
        traits=[],
        label=dict(result.label),
        is_unfamiliar=True,
        unfamiliarity=result.unfamiliarity,
    )


def percent(probability: float) -> str:
    """A probability as people read it: "92%", never "100%" or "0%" for a model's guess."""
    if probability >= 0.995:
        return ">99%"
    if probability < 0.01:
        return "<1%"
    return f"{probability * 100:.0f}%"


def display_photo(image: Image.Image, side: int = DISPLAY_SIDE) -> tuple[bytes, tuple[int, int]]:
    """The photo as a JPEG that fits in side x side pixels, its aspect ratio kept."""
    fitted = ImageOps.contain(image, (side, side)) if max(image.size) > side else image
    buffer = io.BytesIO()
    fitted.convert("RGB").save(buffer, format="JPEG", quality=85)
    return buffer.getvalue(), fitted.size


def identify_upload(
    loaded: LoadedModel,
    predictions: PredictionRepository,
    data: bytes,
    filename: str,
    *,
    keep_photo: bool,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_step: Step | None = None,
) -> Identification:
    """Check, identify and store one uploaded photo; ImageError (nothing stored) if unusable."""
    started = time.perf_counter()
    step = on_step or (lambda _text: None)
    step(READING)
    image = decode_for(loaded, data, filename or "photo", max_bytes=max_bytes)  # decoded once
    step(page_text(loaded.record.schema).working)
    result = identify(loaded, image)
    step("Writing down the result…")
    try:
        stored = store_prediction(
            predictions, loaded, image, result, channel="breeder_app", keep_photo=keep_photo
        )
    except PyMongoError as err:
        raise _unavailable(err) from err
    photo, size = display_photo(image.image)
    return Identification(
        prediction_id=stored.id,
        model_id=loaded.record.id,
        view=result_view(result, loaded.record.schema),
        feedback_secret=stored.feedback_secret,
        photo=photo,
        photo_size=size,
        is_photo_kept=keep_photo,
        seconds=time.perf_counter() - started,
    )


def active_model(cache: ActiveModelCache) -> LoadedModel | None:
    """The active model (None before the first training), or ServiceUnavailableError."""
    try:
        return cache.get()
    except NoActiveModelError:
        return None
    except PyMongoError as err:
        raise _unavailable(err) from err


def active_model_id(models: ModelRepository) -> str | None:
    """The active model's id (None before the first training), or ServiceUnavailableError."""
    try:
        return models.active_id()
    except PyMongoError as err:
        raise _unavailable(err) from err


def correction_choices(schema: LabelSchema) -> list[tuple[Trait, list[str]]]:
    """The traits a user may correct and their choices (as shown), gate first."""
    return [
        (trait, list(trait.values) if trait.is_categorical else ["yes", "no"])
        for trait in schema.traits
    ]


def build_correction(
    schema: LabelSchema, predicted: Mapping[str, Any], chosen: Mapping[str, str | None]
) -> dict[str, Any]:
    """The partial label of just the traits the user changed (None or "" means "left as is").

    A corrected "not a cat" drops the other traits; a colour set on a photo predicted as not a
    cat makes it a cat.
    """
    changed: dict[str, Any] = {}
    for name, raw in chosen.items():
        if raw is None or raw == "":
            continue
        value = schema.trait(name).parse(raw)
        if predicted.get(name) != value:
            changed[name] = value
    gate = schema.gate
    if gate is not None:
        if changed.get(gate.name) is False:
            return {gate.name: False}
        is_gated_change = any(schema.trait(name).gated_by for name in changed)
        if is_gated_change and predicted.get(gate.name) is False:
            changed[gate.name] = True
    return schema.validate(changed, partial=True) if changed else {}


def _feedback_text(prediction: Prediction) -> str:
    if prediction.user_feedback is None:
        return "no feedback yet"
    return "confirmed by its owner" if prediction.user_feedback else "corrected by its owner"


def recent_gallery(
    predictions: PredictionRepository, schema: LabelSchema, limit: int = GALLERY_SIZE
) -> list[GalleryItem]:
    """The latest breeder-page identifications whose owners let us keep the photo, newest first."""
    items = []
    try:
        # API callers never said yes on this page, so their photos are never shown here
        for prediction in predictions.recent(limit, with_image_only=True, channel="breeder_app"):
            if not prediction.has_image:  # never show a photo its owner did not let us keep
                continue
            thumbnail = predictions.thumbnail_bytes(prediction)
            if not thumbnail:
                continue
            if schema.gate is None:
                name = str(next(iter(prediction.label.values()), "unknown"))
            else:
                name = genetics.usual_name(prediction.label)
            items.append(GalleryItem(prediction.id, thumbnail, name, _feedback_text(prediction)))
    except PyMongoError as err:
        raise _unavailable(err) from err
    return items
