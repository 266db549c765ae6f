"""Counting what MongoDB holds today, or held at the end of a past day, for a snapshot.

Counting is done by the database where the embedded server does it fast: a ``$group`` on the
whole ``label`` sub-document (one field path: a group key made of several field paths comes
back from the embedded server as literal strings) after an equality ``$match``. The embedded
server returns such a grouped sub-document as JSON text, MongoDB as a document; both
are read the same way. Date comparisons in ``$match`` are not trusted on the embedded server,
so a backfill filters creation dates in Python.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from typing import Any

from bson import json_util
from pymongo.collection import Collection
from pymongo.database import Database

from core.clock import as_datetime
from core.labels import LabelSchema

Progress = Callable[[float, str], None]

ACCEPTED, REJECTED, NOT_REVIEWED = "accepted", "rejected", "not reviewed"
REVIEW_STATUSES = (ACCEPTED, REJECTED, NOT_REVIEWED)
FEEDBACK_MATCH: dict[str, Any] = {
    ACCEPTED: True,
    REJECTED: False,
    NOT_REVIEWED: {"$nin": [True, False]},
}
UNKNOWN_SOURCE = "unknown"


def no_progress(_fraction: float, _message: str) -> None:
    return None


@dataclass
class Snapshot:
    """What MongoDB held on one day, counted, before it is written to the warehouse."""

    day: date
    is_backfill: bool = False
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # label_key -> dim_label row
    training_images: Counter[tuple[str, str]] = field(default_factory=Counter)  # key, source
    predictions: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # key, user, admin
    models: list[dict[str, Any]] = field(default_factory=list)  # fact rows without ids

    def add_label(self, record: dict[str, Any]) -> str:
        key = json.dumps(record, sort_keys=True, separators=(",", ":"))
        self.labels.setdefault(key, {"label_key": key, **record})
        return key


def flat_label(schema: LabelSchema, label: Any, *, is_labelled: bool) -> dict[str, Any]:
    """The dim_label record of a stored label; values the schema cannot hold are left out."""
    label = label if isinstance(label, Mapping) else {}
    clean: dict[str, Any] = {}
    for trait in schema.traits:
        value = label.get(trait.name)
        if trait.is_boolean:
            clean[trait.name] = value if isinstance(value, bool) else None
        elif isinstance(value, str) and value:
            clean[trait.name] = value[:120]
        else:
            clean[trait.name] = None
    present = {name: value for name, value in clean.items() if value is not None}
    return {"is_unlabelled": not (is_labelled and schema.is_complete(present)), **clean}


def _as_label(value: Any) -> Any:
    if isinstance(value, str):  # nx-27017 answers a grouped sub-document as JSON text
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value


def label_groups(collection: Collection, match: Mapping[str, Any]) -> Iterator[tuple[Any, int]]:
    """(label, number of documents) for the documents matching, grouped in the server."""
    pipeline = [{"$match": dict(match)}, {"$group": {"_id": "$label", "n": {"$sum": 1}}}]
    for row in collection.aggregate(pipeline):
        yield _as_label(row["_id"]), int(row["n"])


def _sources(collection: Collection) -> list[str | None]:
    rows = collection.aggregate([{"$group": {"_id": "$source", "n": {"$sum": 1}}}])
    return sorted({row["_id"] for row in rows}, key=lambda source: source or "")


def collect_training_images(
    database: Database, schema: LabelSchema, snapshot: Snapshot, progress: Progress
) -> None:
    """Count today's training images per label and source into the snapshot."""
    collection = database["training_images"]
    sources = _sources(collection)
    steps = max(len(sources) * 2, 1)
    step = 0
    for source in sources:
        for is_labelled in (True, False):
            match = {"source": source, "is_labelled": True if is_labelled else {"$ne": True}}
            for label, count in label_groups(collection, match):
                key = snapshot.add_label(flat_label(schema, label, is_labelled=is_labelled))
                snapshot.training_images[(key, source or UNKNOWN_SOURCE)] += count
            step += 1
            progress(0.4 * step / steps, f"Counted training images from {source or 'unknown'}")


def collect_predictions(
    database: Database, schema: LabelSchema, snapshot: Snapshot, progress: Progress
) -> None:
    """Count today's predictions per predicted label and user and admin review status."""
    collection = database["predictions"]
    for step, (user_status, admin_status) in enumerate(
        ((user, admin) for user in REVIEW_STATUSES for admin in REVIEW_STATUSES), start=1
    ):
        match = {
            "user_feedback": FEEDBACK_MATCH[user_status],
            "admin_feedback": FEEDBACK_MATCH[admin_status],
        }
        for label, count in label_groups(collection, match):
            key = snapshot.add_label(flat_label(schema, label, is_labelled=True))
            snapshot.predictions[(key, user_status, admin_status)] += count
        progress(0.4 + 0.4 * step / 9, "Counted predictions")


def _history_entry(entry: Any) -> Mapping[str, Any] | None:
    """One labelling-history entry (nx-27017 0.8 stores ``$push``-ed documents as JSON text)."""
    if isinstance(entry, str):
        try:
            entry = json_util.loads(entry)
        except ValueError:
            return None
    return entry if isinstance(entry, Mapping) else None


def _day(value: Any) -> date | None:
    moment = as_datetime(value)
    return moment.astimezone(UTC).date() if moment else None


def model_row(doc: Mapping[str, Any], *, is_active: bool) -> dict[str, Any]:
    """A fact_models row: min, max and mean validation accuracy and loss over the traits."""
    metrics = doc.get("metrics") or {}
    row: dict[str, Any] = {
        "model_id": str(doc["_id"]),
        "training_started": _day(doc.get("training_started")),
        "training_ended": _day(doc.get("training_ended") or doc.get("created_at")),
        "is_active": is_active,
    }
    for measure in ("accuracy", "loss"):
        values = [
            float(per_trait[f"val_{measure}"])
            for per_trait in metrics.values()
            if isinstance(per_trait, Mapping)
            and isinstance(per_trait.get(f"val_{measure}"), int | float)
        ]
        row[f"min_{measure}"] = min(values) if values else None
        row[f"max_{measure}"] = max(values) if values else None
        row[f"avg_{measure}"] = fmean(values) if values else None
    return row


MODEL_FIELDS = {
    "metrics": 1,
    "training_started": 1,
    "training_ended": 1,
    "created_at": 1,
    "is_active": 1,
    "activated_at": 1,
}


def collect_models(database: Database, snapshot: Snapshot, progress: Progress) -> None:
    for doc in database["prediction_models"].find({}, MODEL_FIELDS):
        snapshot.models.append(model_row(doc, is_active=bool(doc.get("is_active"))))
    progress(0.85, "Read the models")


def collect_today(
    database: Database, schema: LabelSchema, day: date, progress: Progress
) -> Snapshot:
    """The snapshot of what MongoDB holds now, filed under `day`."""
    snapshot = Snapshot(day=day)
    progress(0.0, "Counting training images")
    collect_training_images(database, schema, snapshot, progress)
    collect_predictions(database, schema, snapshot, progress)
    collect_models(database, snapshot, progress)
    return snapshot


# --- reconstructing a past day ---------------------------------------------------------------


def _label_on(doc: Mapping[str, Any], end: datetime, schema: LabelSchema) -> tuple[Any, bool]:
    """The label an image had at `end`, from labelled_at and its labelling history."""
    labelled_at = as_datetime(doc.get("labelled_at"))
    if labelled_at is None or labelled_at < end:
        return doc.get("label"), bool(doc.get("is_labelled"))
    for raw in reversed(doc.get("history") or []):
        entry = _history_entry(raw)
        at = as_datetime(entry.get("at")) if entry is not None else None
        if at is not None and at < end and isinstance(entry.get("label"), Mapping):
            return entry["label"], schema.is_complete(entry["label"])
    return {}, False


def _status_on(doc: Mapping[str, Any], who: str, end: datetime) -> str:
    feedback = doc.get(f"{who}_feedback")
    if feedback is not True and feedback is not False:
        return NOT_REVIEWED
    reviewed_at = as_datetime(doc.get(f"{who}_reviewed_at"))
    if reviewed_at is not None and reviewed_at >= end:
        return NOT_REVIEWED
    return ACCEPTED if feedback else REJECTED


_BATCH = 2000  # documents read per round trip, and between two progress reports


def _created_before(
    collection: Collection,
    fields: Mapping[str, int],
    end: datetime,
    progress: Progress,
    share: tuple[float, float],
    what: str,
) -> Iterator[Mapping[str, Any]]:
    """The documents created before end; progress moves over share (start, width) as it reads."""
    start, width = share
    total = max(collection.estimated_document_count(), 1)
    query = collection.find({}, {**fields, "created_at": 1}, batch_size=_BATCH)
    for done, doc in enumerate(query, start=1):
        created_at = as_datetime(doc.get("created_at"))
        if created_at is not None and created_at < end:
            yield doc
        if done % _BATCH == 0:
            progress(start + width * min(done / total, 1.0), f"Read {done} {what}")


def collect_past_day(
    database: Database, schema: LabelSchema, day: date, progress: Progress
) -> Snapshot:
    """A reconstruction of what MongoDB held at the end of a past day (docs/reporting.md)."""
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
    snapshot = Snapshot(day=day, is_backfill=True)
    image_fields = {"label": 1, "is_labelled": 1, "source": 1, "labelled_at": 1, "history": 1}
    images = _created_before(
        database["training_images"], image_fields, end, progress, (0.0, 0.5), "training images"
    )
    for doc in images:
        label, is_labelled = _label_on(doc, end, schema)
        key = snapshot.add_label(flat_label(schema, label, is_labelled=is_labelled))
        snapshot.training_images[(key, doc.get("source") or UNKNOWN_SOURCE)] += 1
    prediction_fields = {
        "label": 1,
        "user_feedback": 1,
        "user_reviewed_at": 1,
        "admin_feedback": 1,
        "admin_reviewed_at": 1,
    }
    predictions = _created_before(
        database["predictions"], prediction_fields, end, progress, (0.5, 0.3), "predictions"
    )
    for doc in predictions:
        key = snapshot.add_label(flat_label(schema, doc.get("label"), is_labelled=True))
        statuses = (_status_on(doc, "user", end), _status_on(doc, "admin", end))
        snapshot.predictions[(key, *statuses)] += 1
    for doc in database["prediction_models"].find({}, MODEL_FIELDS):
        created_at = as_datetime(doc.get("created_at"))
        if created_at is None or created_at >= end:
            continue
        activated_at = as_datetime(doc.get("activated_at"))
        was_active = bool(doc.get("is_active")) and activated_at is not None and activated_at < end
        snapshot.models.append(model_row(doc, is_active=was_active))
    progress(0.85, "Read the models")
    return snapshot
