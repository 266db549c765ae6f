"""Bulk label writes in the console: merge a partial label, skip images it cannot apply to."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.db.mongo import to_object_id
from core.db.training_image_records import TrainingImage
from core.errors import UserError
from core.labels import Label, LabelSchema
from core.text import plural

Progress = Callable[[int, int], None]  # (done, total)


def batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """The items in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk action did, with the sentence the page shows."""

    changed: int
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class LabelWrite:
    """How a bulk write went: images changed, images skipped and why."""

    changed: int = 0
    skipped: int = 0
    skip_reason: str | None = None

    def skip(self, count: int, reason: str) -> None:
        self.skipped += count
        self.skip_reason = self.skip_reason or reason

    def notes(self, asked: int) -> str:
        """Sentences about the images that were not changed (empty when all were)."""
        text = ""
        if self.skipped:
            text += f" Skipped {plural(self.skipped, 'image')}: {self.skip_reason}"
        missing = asked - self.changed - self.skipped
        if missing > 0:
            text += f" {plural(missing, 'selected image')} had already been deleted."
        return text


class LabelMerger:
    """Each image's new label for one update, merged once per distinct current label."""

    def __init__(self, schema: LabelSchema, update: Label) -> None:
        self._schema = schema
        self._update = update
        self._merged: dict[tuple, Label | UserError] = {}  # labels repeat: merge each one once

    def merged(self, current: Mapping[str, Any]) -> Label | UserError:
        """The new label of an image, or why the update does not apply to it."""
        key = tuple(sorted(current.items()))
        if key not in self._merged:
            self._merged[key] = self._merge(current)
        return self._merged[key]

    def _merge(self, current: Mapping[str, Any]) -> Label | UserError:
        try:
            label = self._schema.merge(current, self._update)
        except UserError as err:
            return err
        for name, value in self._update.items():
            if label.get(name) != value:  # a gated trait on an image whose gate is no
                trait = self._schema.trait(name)
                gate = self._schema.trait(trait.gated_by) if trait.gated_by else trait
                return UserError(
                    f"{trait.title} does not apply to images whose {gate.title} is no; "
                    f"set {gate.title} to yes first."
                )
        return label


def history_rows(image: TrainingImage) -> list[dict[str, Any]]:
    """An image's history as rows (at, by, action, label)."""
    return [
        {
            "at": entry.get("at"),
            "by": entry.get("by") or "",
            "action": entry.get("action", ""),
            "label": entry.get("label"),
        }
        for entry in image.history
    ]


def check_selection(image_ids: Iterable[str], verb: str) -> list[str]:
    """The selected ids, each checked, without repeats; UserError when none is selected."""
    image_ids = list(image_ids)
    if not image_ids:
        raise UserError(
            f"No images are selected, so nothing was {verb}; tick some images or use "
            "Select all matching first."
        )
    unique = list(dict.fromkeys(str(i) for i in image_ids))
    for image_id in unique:
        to_object_id(image_id, "image")
    return unique
