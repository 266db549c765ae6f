"""Check that every trait of the demo cat images is learnable by a tiny CNN trained from scratch.

Generates cat-schema demo samples (JPEG round trip, letterboxed to SIZE px), trains a small
Keras CNN with one head per trait (gated traits only on cats) on CPU and prints the validation
accuracy of every trait. Usage:
    .venv/bin/python tools/check_demo_learnable.py [--count 600] [--size 112] [--epochs 30]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.demo.samples import demo_samples, encode_jpeg  # noqa: E402
from core.images import to_model_array  # noqa: E402
from core.labels import CAT_PHENOTYPE  # noqa: E402

TRAITS = CAT_PHENOTYPE.traits


def generate(job: tuple[int, int, int]) -> tuple[np.ndarray, list[dict]]:
    """count samples of one seed as a uint8 array of size x size images, and their labels."""
    seed, count, size = job
    images, labels = [], []
    for sample in demo_samples("cat_phenotype", count, seed=seed):
        decoded = Image.open(io.BytesIO(encode_jpeg(sample.image)))
        images.append(to_model_array(decoded, size))
        labels.append(sample.truth)
    return np.stack(images), labels


def targets(labels: list[dict]) -> dict[str, np.ndarray]:
    """One integer array per trait: the class index, or -1 where the trait does not apply."""
    out = {}
    for trait in TRAITS:
        values = list(trait.values) if trait.is_categorical else [False, True]
        column = [
            values.index(label[trait.name]) if trait.name in label else -1 for label in labels
        ]
        out[trait.name] = np.array(column, np.int32)
    return out


def build_model(size: int, augment: bool, steps: int):  # noqa: ANN201 - keras imported lazily
    """A small conv net with a softmax head per trait (two classes for yes/no traits)."""
    import keras
    from keras import layers, ops

    def masked_loss(y_true, y_pred):  # noqa: ANN001, ANN202
        y = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        mask = ops.cast(y >= 0, "float32")
        loss = keras.losses.sparse_categorical_crossentropy(ops.maximum(y, 0), y_pred)
        return loss * mask * ops.cast(ops.shape(mask)[0], "float32") / ops.maximum(ops.sum(mask), 1)

    inputs = keras.Input((size, size, 3))
    x = inputs
    if augment:  # the product's brightness and contrast augmentation
        x = layers.RandomFlip("horizontal")(x)
        x = layers.RandomContrast(0.15, value_range=(0, 255))(x)
        x = layers.RandomBrightness(0.1, value_range=(0, 255))(x)
    x = layers.Rescaling(1 / 255.0)(x)
    for filters in (24, 48, 64, 96):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    x = layers.Dropout(0.2)(layers.Dense(96, activation="relu")(x))
    outputs = {
        t.name: layers.Dense(max(2, len(t.values)), activation="softmax", name=t.name)(x)
        for t in TRAITS
    }
    model = keras.Model(inputs, outputs)
    schedule = keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.02)
    model.compile(keras.optimizers.Adam(schedule), loss={t.name: masked_loss for t in TRAITS})
    return model


def print_details(y: dict[str, np.ndarray], predicted: dict, val: np.ndarray) -> None:
    """The colour confusion matrix and each trait's accuracy by pattern and colourpoint."""
    colours = CAT_PHENOTYPE.trait("colour").values
    truth, guess = y["colour"][val], predicted["colour"].argmax(axis=1)
    print("colour confusion (rows true, columns predicted):")
    for i, name in enumerate(colours):
        row = [int(((truth == i) & (guess == j)).sum()) for j in range(len(colours))]
        print(f"  {name:<10}" + "".join(f"{n:4d}" for n in row))
    cats = y["is_cat"][val] == 1
    groups = (("pattern", "pattern", (0, 1, 2)), ("pointed", "is_pointed", (0, 1)))
    for group, key, values in groups:
        for value in values:
            rows = cats & (y[key][val] == value)
            scores = []
            for trait in TRAITS[1:]:
                t, g = y[trait.name][val][rows], predicted[trait.name][rows].argmax(axis=1)
                scores.append(f"{trait.name} {float((t == g).mean()):.2f}")
            print(f"  {group}={value} (n={int(rows.sum())}): " + ", ".join(scores))


def main() -> None:
    """Generate, train, and print per-trait validation accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-augment", action="store_true")
    parser.add_argument("--details", action="store_true", help="colour confusion, errors by kind")
    args = parser.parse_args()
    started = time.time()
    half = args.count // 2
    jobs = [(args.seed * 2 + k, half, args.size) for k in range(2)]
    with Pool(2) as pool:
        parts = pool.map(generate, jobs)
    images = np.concatenate([p[0] for p in parts])
    labels = [label for p in parts for label in p[1]]
    print(f"generated {len(labels)} images in {time.time() - started:.0f}s", flush=True)

    import keras

    keras.utils.set_random_seed(args.seed)
    order = np.random.default_rng(args.seed).permutation(len(labels))
    split = int(len(order) * 0.8)
    train, val = order[:split], order[split:]
    y = targets(labels)
    steps = args.epochs * -(-len(train) // 32)
    model = build_model(args.size, augment=not args.no_augment, steps=steps)
    model.fit(
        images[train],
        {k: v[train] for k, v in y.items()},
        batch_size=32,
        epochs=args.epochs,
        verbose=2,
    )
    predicted = model.predict(images[val], verbose=0)
    print(f"validation: {len(val)} images ({int((y['is_cat'][val] == 1).sum())} cats)")
    for trait in TRAITS:
        truth, guess = y[trait.name][val], predicted[trait.name].argmax(axis=1)
        known = truth >= 0
        accuracy = float((truth[known] == guess[known]).mean())
        print(f"  {trait.name:<11} accuracy {accuracy:.3f}  (n={int(known.sum())})")
    if args.details:
        print_details(y, predicted, val)
    print(f"total {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
