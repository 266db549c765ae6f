"""A stored model exported for use elsewhere: its file and a JSON of what reading it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.db.models import ModelRecord, ModelRepository

EXPORT_FORMATS = ("keras", "tflite", "savedmodel")  # core.ml.export.FORMATS, without Keras
INPUT_NOTE = (
    "float32 RGB pixels in [0, 255], shape N x S x S x 3 (S = image_size); fit each photo to "
    "S x S like resize_mode says (pad: letterbox, crop: centre crop) without stretching"
)


def model_metadata(record: ModelRecord) -> dict[str, Any]:
    """The label schema, thresholds, temperatures and OOD parameters a reader of the file needs."""
    from core.ml.calibration import temperatures
    from core.ml.ood import ood_as_json
    from core.ml.targets import class_names

    return {
        "model_id": record.id,
        "backbone": record.backbone,
        "image_size": record.image_size,
        "resize_mode": record.resize_mode,
        "input": INPUT_NOTE,
        "schema": record.schema.to_document(),
        "outputs": {
            trait.name: {
                "classes": class_names(trait),
                "activation": "softmax" if trait.is_categorical else "sigmoid (p of yes)",
                "gated_by": trait.gated_by,
            }
            for trait in record.schema.traits
        },
        "features_output": (
            "features: the embedding the heads read (the energy score); ood_features, when "
            "present, what the OOD distance reads (else features)"
        ),
        "thresholds": dict(record.thresholds),
        "temperatures": temperatures(record.calibration),
        "calibration": {
            name: {key: values.get(key) for key in ("temperature", "ece_before", "ece_after")}
            for name, values in record.calibration.items()
        },
        "ood": ood_as_json(record.ood),
        "metrics": dict(record.metrics),
        "trained": str(record.training_ended or record.created_at),
    }


def _export_model(models: ModelRepository, record: ModelRecord):  # noqa: ANN202 - Keras lazily
    """The stored model with its pooled embedding as one more output."""
    from core.ml.export import inference_model
    from core.ml.model_builder import model_from_bytes, with_features

    return inference_model(with_features(model_from_bytes(models.model_file(record))))


def export_model(
    models: ModelRepository, model_id: str, format_name: str, folder: Path
) -> list[Path]:
    """Write model ID in this format and its model.json into folder; return the paths written."""
    from core.ml.export import check_format, export_folder

    check_format(format_name)
    record = models.get(model_id)
    return export_folder(_export_model(models, record), model_metadata(record), format_name, folder)


def export_model_zip(models: ModelRepository, model_id: str, format_name: str) -> tuple[str, bytes]:
    """A zip of the same files (for a download button), and its file name."""
    from core.ml.export import check_format, export_zip

    check_format(format_name)
    record = models.get(model_id)
    data = export_zip(_export_model(models, record), model_metadata(record), format_name)
    return f"cat-identifier-model-{record.id[-6:]}-{format_name}.zip", data
