"""What the Training page shows: the training set in numbers, the form, a run's live view."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from core.clock import utcnow
from core.db.training_images import ImageFilter, TrainingImageRepository
from core.db.training_runs import LogEntry, TrainingRun, TrainingRunRepository
from core.errors import UserError
from core.labels import LabelSchema
from core.ml.backbone_names import BACKBONES
from core.ml.hyperparameters import (
    _NUMBER_RANGES,
    _WHOLE_RANGES,
    PRETRAINED_BACKBONES,
    RESIZE_MODES,
    HyperParameters,
    help_texts,
)
from core.ml.hyperparameters import title as setting_title
from core.ml.targets import check_training_set, class_names, fill_open_values, value_counts

FEW_PER_VALUE = 10  # below this many images a value is learnt poorly
FEW_IMAGES = 100  # below this many labelled images a model is a toy
STATUS_TEXT = {
    "queued": "Queued: waiting for the job to start",
    "running": "Running",
    "succeeded": "Succeeded",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


# --- the training set -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSetSummary:
    """The labelled images per trait value, the unlabelled count, and what to look out for."""

    labelled: int
    unlabelled: int
    counts: pd.DataFrame  # trait, trait_title, value, images (0 for a value with no image)
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None  # why training would fail now, or None

    @property
    def can_train(self) -> bool:
        return self.problem is None


def summarize_training_set(
    images: TrainingImageRepository, schema: LabelSchema
) -> TrainingSetSummary:
    """Count the training set per trait value and check it the way the job will."""
    labels = [label for _, label in images.labelled()]
    unlabelled = images.count(ImageFilter(is_labelled=False))
    filled = fill_open_values(schema, labels)
    rows = []
    for trait in filled.traits:
        counts = value_counts(filled, trait, labels)
        for value in class_names(trait):
            rows.append(
                {
                    "trait": trait.name,
                    "trait_title": trait.title,
                    "value": value,
                    "images": int(counts.get(value, 0)),
                }
            )
    frame = pd.DataFrame(rows, columns=["trait", "trait_title", "value", "images"])
    problem, warnings = None, []
    try:
        warnings = check_training_set(schema, labels)
    except UserError as err:
        problem = str(err)
    if problem is None:
        warnings = [*_few_image_warnings(len(labels), frame), *warnings]
    return TrainingSetSummary(len(labels), unlabelled, frame, warnings, problem)


def _few_image_warnings(labelled: int, counts: pd.DataFrame) -> list[str]:
    warnings = []
    if labelled < FEW_IMAGES:
        warnings.append(
            f"Only {labelled} labelled images: enough to try training, but a useful model needs "
            f"a few hundred; label or import more."
        )
    few = counts[(counts["images"] > 0) & (counts["images"] < FEW_PER_VALUE)]
    for title, group in few.groupby("trait_title", sort=False):
        values = ", ".join(f"{row.value} ({row.images})" for row in group.itertuples())
        warnings.append(
            f"{title} has fewer than {FEW_PER_VALUE} images of {values}; predictions of "
            f"{'that value' if len(group) == 1 else 'those values'} will be unreliable."
        )
    return warnings


# --- the new-run form -------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterField:
    """One input of the hyper-parameter form, built from HyperParameters."""

    name: str
    label: str
    kind: str  # "choice", "whole", "number", "share", "flag"
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    options: tuple[str, ...] = ()
    is_advanced: bool = False
    is_fine_tuning: bool = False  # shown under its own note: pretrained backbones only


_LABELS = {"image_size": "Image size (pixels)", "validation_share": "Validation share"}
_FINE_TUNING = ("fine_tune_layers", "fine_tune_epochs")
_ADVANCED = ("patience", "augment", "seed", "resize_mode", *_FINE_TUNING)
FINE_TUNING_NOTE = (
    f"Fine-tuning applies to a pretrained backbone ({', '.join(PRETRAINED_BACKBONES)}) only: "
    "leave fine-tune layers at 0 for small_cnn, and a run whose backbone weights cannot be "
    "loaded falls back to small_cnn and skips it (the log says so)."
)


def parameter_fields(defaults: HyperParameters) -> list[ParameterField]:
    """The form's inputs in order, with the run defaults (see run_defaults) and help texts."""
    helps = help_texts(defaults)
    result = []
    for name, default in defaults.to_dict().items():
        kind, low, high, step, options = "flag", None, None, None, ()
        if name in ("backbone", "resize_mode"):
            kind, options = "choice", BACKBONES if name == "backbone" else RESIZE_MODES
        elif name in _WHOLE_RANGES:
            kind, (low, high) = "whole", _WHOLE_RANGES[name]
            step = 16 if name == "image_size" else 1
        elif name in _NUMBER_RANGES:
            kind = "share" if name == "validation_share" else "number"
            low, high = _NUMBER_RANGES[name]
            step = 0.05 if kind == "share" else 1e-4
        result.append(
            ParameterField(
                name,
                _LABELS.get(name, setting_title(name)),
                kind,
                default,
                helps[name],
                low=low,
                high=high,
                step=step,
                options=tuple(options),
                is_advanced=name in _ADVANCED,
                is_fine_tuning=name in _FINE_TUNING,
            )
        )
    return result


# --- a run as the page shows it ---------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """A duration as people read it: "45 s", "3 min 05 s", "1 h 02 min"."""
    if seconds is None:
        return "–"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


@dataclass(frozen=True)
class RunView:
    """A training run ready to show: status, times, progress and chart data."""

    run: TrainingRun
    elapsed_s: float | None
    progress: float  # 0..1 by epoch
    progress_text: str
    losses: pd.DataFrame  # epoch, trait, split, loss
    accuracies: pd.DataFrame  # epoch, trait, split, accuracy (empty when the job logs none)

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.run.status, self.run.status)

    @property
    def elapsed_text(self) -> str:
        return format_duration(self.elapsed_s)


def run_view(
    run: TrainingRun, schema: LabelSchema | None = None, *, now: datetime | None = None
) -> RunView:
    """The page's view of a run (times measured at `now`, default the current time)."""
    now = now or utcnow()
    if run.started_at is not None:
        elapsed = ((run.ended_at or now) - run.started_at).total_seconds()
    elif run.is_active:
        elapsed = (now - run.requested_at).total_seconds()
    else:
        elapsed = None
    epochs = max(run.epochs, int(run.parameters.get("epochs", 0) or 0), 1)
    if run.status == "succeeded":
        fraction = 1.0
        text = f"Done after {run.epoch} of {epochs} epochs"
        if run.epoch < epochs:
            text += " (stopped early: the validation loss stopped improving)"
    else:
        fraction = min(1.0, run.epoch / epochs)
        if run.status == "queued":
            text = "Waiting for the job to start"
        elif run.status == "running" and run.epoch == 0:
            text = f"Preparing: epoch 0 of {epochs}"
        else:
            text = f"Epoch {run.epoch} of {epochs}"
    losses, accuracies = history_frames(run.history, schema)
    return RunView(run, elapsed, fraction, text, losses, accuracies)


def history_frames(
    history: Sequence[dict[str, Any]], schema: LabelSchema | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long frames of loss and accuracy per epoch, per trait ("All traits" for the total loss)
    and split ("training"/"validation"), from a run's per-epoch Keras logs."""
    titles = {t.name: t.title for t in schema.traits} if schema else {}
    loss_rows, accuracy_rows = [], []
    for entry in history:
        epoch = int(entry.get("epoch", 0))
        for key, value in entry.items():
            if key == "epoch" or value is None:
                continue
            split = "validation" if key.startswith("val_") else "training"
            name = key.removeprefix("val_")
            for suffix, rows, column in (
                ("loss", loss_rows, "loss"),
                ("accuracy", accuracy_rows, "accuracy"),
            ):
                if name == suffix:
                    trait = "All traits"
                elif name.endswith("_" + suffix):
                    base = name.removesuffix("_" + suffix)
                    trait = titles.get(base, base.replace("_", " ").capitalize())
                else:
                    continue
                rows.append({"epoch": epoch, "trait": trait, "split": split, column: float(value)})
    loss = pd.DataFrame(loss_rows, columns=["epoch", "trait", "split", "loss"])
    accuracy = pd.DataFrame(accuracy_rows, columns=["epoch", "trait", "split", "accuracy"])
    return loss, accuracy


def current_run(runs: TrainingRunRepository) -> TrainingRun | None:
    """The run the live view follows: the active one, else the latest; dead jobs end failed."""
    runs.fail_stale()
    return runs.active() or next(iter(runs.list(limit=1)), None)


def cancel_run(runs: TrainingRunRepository, run_id: str) -> str:
    """Ask a run to stop; return what happens next, in one sentence."""
    status = runs.get(run_id).status
    runs.request_cancel(run_id)
    if status == "queued":
        return "The run was cancelled before it started."
    return "Asked the job to stop; it ends at its next batch and keeps the active model."


def log_text(entries: Iterable[LogEntry]) -> str:
    """Log entries as console lines: "13:50:17  INFO   message"."""
    return "\n".join(
        f"{entry.timestamp:%H:%M:%S}  {entry.level.upper():7}  {entry.message}" for entry in entries
    )


def run_label(run: TrainingRun) -> str:
    """A run in a list: "29 Nov 13:50 · succeeded · ann"."""
    return f"{run.requested_at:%d %b %H:%M} · {run.status} · {run.requested_by}"


def runs_table(runs: Sequence[TrainingRun]) -> pd.DataFrame:
    """Past runs for the history table."""
    rows = []
    for run in runs:
        params = run.parameters
        rows.append(
            {
                "Requested": run.requested_at,
                "Status": run.status,
                "Duration": format_duration(run.duration_s),
                "By": run.requested_by,
                "Backbone": run.backbone,
                "Epochs": f"{run.epoch} / {params.get('epochs', run.epochs)}",
                "Model": (run.model_id or "")
                + (" (activated)" if run.model_id and run.is_model_activated else ""),
                "Error": run.error or "",
            }
        )
    columns = ["Requested", "Status", "Duration", "By", "Backbone", "Epochs", "Model", "Error"]
    return pd.DataFrame(rows, columns=columns)


def fine_tuning_text(hyper_parameters: Mapping[str, Any]) -> str:
    """How a model's backbone was fine-tuned, from its hyper-parameters: "No", "Top 2 layers"."""
    layers = int(hyper_parameters.get("fine_tune_layers") or 0)
    if not layers:
        return "No"
    return f"Top {layers} layer{'s' if layers != 1 else ''}"
