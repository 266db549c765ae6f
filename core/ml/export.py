"""A trained model in a portable format (Keras, TFLite, SavedModel) with its metadata beside it."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from core.errors import unknown_choice

FORMATS = ("keras", "tflite", "savedmodel")
METADATA_NAME = "model.json"


def check_format(name: str) -> None:
    """Raise UserError unless name is one of FORMATS."""
    if name not in FORMATS:
        raise unknown_choice(f"Export format {name!r}", FORMATS)


class _PassThrough(keras.layers.Layer):
    """Stands in for the augmentation in an exported model: images pass unchanged."""

    def call(self, inputs: Any, mask: Any = None, training: Any = None) -> Any:
        return inputs


def inference_model(model: keras.Model) -> keras.Model:
    """The model without its augmentation layers (random ops TFLite lacks), sharing weights."""

    def without_augmentation(layer: keras.layers.Layer) -> keras.layers.Layer:
        if layer.name == "augmentation":
            return _PassThrough(name="augmentation")
        return layer

    return keras.models.clone_model(model, clone_function=without_augmentation)


def _save_savedmodel(model: keras.Model, folder: Path) -> None:
    inference_model(model).export(str(folder), format="tf_saved_model", verbose=False)


def write_model(model: keras.Model, format_name: str, folder: Path) -> Path:
    """Write the model into folder in this format; return the file or folder written."""
    check_format(format_name)
    folder.mkdir(parents=True, exist_ok=True)
    if format_name == "keras":
        path = folder / "model.keras"
        model.save(path)
        return path
    if format_name == "savedmodel":
        path = folder / "saved_model"
        if path.exists():
            shutil.rmtree(path)
        _save_savedmodel(model, path)
        return path
    import tensorflow as tf

    path = folder / "model.tflite"
    with tempfile.TemporaryDirectory() as scratch:
        _save_savedmodel(model, Path(scratch) / "saved_model")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(Path(scratch) / "saved_model"))
        path.write_bytes(converter.convert())
    return path


def write_metadata(metadata: Mapping[str, Any], folder: Path) -> Path:
    """Write the label schema, thresholds, temperatures and OOD parameters as JSON."""
    path = folder / METADATA_NAME
    path.write_text(json.dumps(metadata, indent=2, default=_plain) + "\n", encoding="utf-8")
    return path


def export_folder(
    model: keras.Model, metadata: Mapping[str, Any], format_name: str, folder: Path
) -> list[Path]:
    """The model and its metadata JSON written into folder; return what was written."""
    model_path = write_model(model, format_name, folder)
    return [model_path, write_metadata({**metadata, "format": format_name}, folder)]


def export_zip(model: keras.Model, metadata: Mapping[str, Any], format_name: str) -> bytes:
    """The same files as export_folder, zipped (for a download button)."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        export_folder(model, metadata, format_name, root)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def tflite_outputs(path: Path | bytes, batch: np.ndarray) -> dict[str, np.ndarray]:
    """Run a TFLite export with TensorFlow's interpreter: outputs by trait name, image by image."""
    import tensorflow as tf

    content = path if isinstance(path, bytes) else Path(path).read_bytes()
    with warnings.catch_warnings():  # "moves to ai-edge-litert": still TensorFlow's own here
        warnings.simplefilter("ignore", UserWarning)
        interpreter = tf.lite.Interpreter(model_content=content)
    runner = interpreter.get_signature_runner()
    (input_name,) = runner.get_input_details()
    rows: list[dict[str, np.ndarray]] = []
    for image in np.asarray(batch, dtype=np.float32):
        rows.append(runner(**{input_name: image[None]}))
    return {name: np.concatenate([row[name] for row in rows]) for name in rows[0]}


def _plain(value: Any) -> Any:
    """JSON for numpy values and dates."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
