"""Out-of-distribution scores: how unlike the training images a photo is, and a threshold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SHRINKAGE = 0.1  # towards the mean variance: a covariance of few images is otherwise singular
KNN_K = 5
KNN_MAX_STORED = 500  # stored with the model: 500 x 144 numbers for a small_cnn
MAX_DIMENSIONS = 128  # wider embeddings are projected on their principal axes first
MAX_FALSE_ALARMS = 0.05  # at most this share of validation images may be called unfamiliar
METHODS = ("mahalanobis", "knn", "energy")


def energy_scores(
    features: np.ndarray, heads: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Minus the summed log-sum-exp of every head's logits: high for unfamiliar images.

    A yes/no head's single logit z counts as the two logits [0, z].
    """
    total = np.zeros(len(features), dtype=np.float64)
    for kernel, bias in heads.values():
        logits = np.asarray(features, dtype=np.float64) @ kernel + bias
        if logits.shape[1] == 1:
            logits = np.concatenate([np.zeros_like(logits), logits], axis=1)
        top = logits.max(axis=1)
        total += top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
    return -total


@dataclass(frozen=True)
class FeatureDistance:
    """Distance of pooled embeddings to the training images' embeddings, and its threshold."""

    method: str  # "mahalanobis" or "knn"
    mean: np.ndarray
    scale: np.ndarray  # mahalanobis: the precision matrix; knn: per-dimension standard deviation
    references: np.ndarray | None = None  # knn: standardised training embeddings
    threshold: float = float("inf")
    projection: np.ndarray | None = None  # D x MAX_DIMENSIONS principal axes of wide embeddings

    @classmethod
    def fit(
        cls, features: np.ndarray, method: str = "mahalanobis", seed: int = 0
    ) -> FeatureDistance:
        """Fit on the training images' embeddings (N x D)."""
        features = np.asarray(features, dtype=np.float64)
        mean = features.mean(axis=0)
        centred = features - mean
        projection = None
        if centred.shape[1] > MAX_DIMENSIONS:
            _, _, axes = np.linalg.svd(centred, full_matrices=False)
            projection = axes[:MAX_DIMENSIONS].T
            centred = centred @ projection
        found = cls._fit_centred(centred, method, seed)
        return cls(method, mean, found[0], found[1], projection=projection)

    @staticmethod
    def _fit_centred(
        centred: np.ndarray, method: str, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The scale (and knn references) of centred, possibly projected, embeddings."""
        if method == "mahalanobis":
            dimensions = centred.shape[1]
            covariance = centred.T @ centred / max(1, len(centred) - 1)
            target = np.eye(dimensions) * np.trace(covariance) / dimensions
            shrunk = (1 - SHRINKAGE) * covariance + SHRINKAGE * target
            return np.linalg.pinv(shrunk), None
        if method == "knn":
            deviation = centred.std(axis=0) + 1e-6
            references = centred / deviation
            if len(references) > KNN_MAX_STORED:
                rows = np.random.default_rng(seed).choice(len(references), KNN_MAX_STORED, False)
                references = references[np.sort(rows)]
            return deviation, references.astype(np.float32)
        raise ValueError(f"OOD method {method!r} is not one of {METHODS}.")

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The distance of each embedding: high for unfamiliar images."""
        centred = np.asarray(features, dtype=np.float64) - self.mean
        if self.projection is not None:
            centred = centred @ self.projection
        if self.method == "mahalanobis":
            return np.sqrt(np.maximum(np.einsum("nd,de,ne->n", centred, self.scale, centred), 0))
        assert self.references is not None
        points = centred / self.scale
        squared = (
            (points**2).sum(axis=1)[:, None]
            - 2 * points @ self.references.T.astype(np.float64)
            + (self.references.astype(np.float64) ** 2).sum(axis=1)[None, :]
        )
        nearest = np.sort(np.maximum(squared, 0), axis=1)[:, :KNN_K]
        return np.sqrt(nearest).mean(axis=1)

    def with_threshold(self, threshold: float) -> FeatureDistance:
        """The same scorer with this threshold."""
        return FeatureDistance(
            self.method, self.mean, self.scale, self.references, threshold, self.projection
        )

    def to_document(self, *, as_lists: bool = False) -> dict[str, Any]:
        """For storing with the model: k-NN references as float16 bytes (or lists, for JSON)."""
        doc: dict[str, Any] = {
            "method": self.method,
            "mean": self.mean.astype(np.float32).tolist(),
            "scale": np.asarray(self.scale, dtype=np.float32).tolist(),
            "threshold": float(self.threshold),
        }
        if self.references is not None:
            references = self.references.astype(np.float16)
            doc["references"] = references.tolist() if as_lists else references.tobytes()
            doc["references_shape"] = list(references.shape)
        if self.projection is not None:
            doc["projection"] = self.projection.astype(np.float32).tolist()
        return doc

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> FeatureDistance:
        """The scorer stored by to_document."""
        references = doc.get("references")
        if isinstance(references, bytes | bytearray):
            shape = tuple(doc["references_shape"])
            references = np.frombuffer(bytes(references), dtype=np.float16).reshape(shape)
        return cls(
            method=str(doc["method"]),
            mean=np.asarray(doc["mean"], dtype=np.float64),
            scale=np.asarray(doc["scale"], dtype=np.float64),
            references=None if references is None else np.asarray(references, dtype=np.float32),
            threshold=float(doc["threshold"]),
            projection=None if doc.get("projection") is None else np.asarray(doc["projection"]),
        )


def ood_as_json(ood: Mapping[str, Any]) -> dict[str, Any]:
    """A stored OOD document with its byte arrays as lists (for model.json)."""
    doc = dict(ood)
    if "distance" in doc:
        doc["distance"] = FeatureDistance.from_document(doc["distance"]).to_document(as_lists=True)
    return doc


def auroc(familiar: np.ndarray, unfamiliar: np.ndarray) -> float:
    """Probability that an unfamiliar image scores above a familiar one (ties count half)."""
    familiar, unfamiliar = np.asarray(familiar, float), np.asarray(unfamiliar, float)
    if not len(familiar) or not len(unfamiliar):
        return float("nan")
    joined = np.concatenate([familiar, unfamiliar])
    order = joined.argsort(kind="mergesort")
    ranks = np.empty(len(joined))
    ranks[order] = np.arange(1, len(joined) + 1)
    for value in np.unique(joined):  # average ranks of ties
        same = joined == value
        if same.sum() > 1:
            ranks[same] = ranks[same].mean()
    positives = ranks[len(familiar) :].sum() - len(unfamiliar) * (len(unfamiliar) + 1) / 2
    return float(positives / (len(familiar) * len(unfamiliar)))


def choose_threshold(familiar: np.ndarray, unfamiliar: np.ndarray) -> float:
    """The threshold catching most unfamiliar images while flagging at most 5% of familiar ones.

    Among thresholds that flag no more than MAX_FALSE_ALARMS of the validation images, the one
    with the best (caught - false alarms); the midpoint to the next score keeps a margin.
    """
    familiar = np.sort(np.asarray(familiar, dtype=np.float64))
    unfamiliar = np.asarray(unfamiliar, dtype=np.float64)
    allowed = int(np.floor(MAX_FALSE_ALARMS * len(familiar)))
    candidates = familiar[len(familiar) - 1 - allowed :] if len(familiar) else np.array([0.0])
    best, best_gain = float(candidates[-1]), -np.inf
    for value in candidates:
        false_alarms = float(np.mean(familiar > value)) if len(familiar) else 0.0
        caught = float(np.mean(unfamiliar > value)) if len(unfamiliar) else 0.0
        if caught - false_alarms > best_gain:
            best, best_gain = float(value), caught - false_alarms
    above = unfamiliar[unfamiliar > best]
    margin = (float(above.min()) - best) / 2 if len(above) else 0.0
    return best + min(margin, abs(best) * 0.05 + 1e-9)


def summary(familiar: np.ndarray, unfamiliar: np.ndarray, threshold: float) -> dict[str, float]:
    """AUROC, and the shares of familiar and unfamiliar images called unfamiliar."""
    return {
        "auroc": auroc(familiar, unfamiliar),
        "false_alarm_rate": float(np.mean(np.asarray(familiar) > threshold)),
        "detection_rate": float(np.mean(np.asarray(unfamiliar) > threshold)),
    }


def pick_best(candidates: Sequence[tuple[str, dict[str, float]]]) -> str:
    """The method catching most made-up images net of false alarms at its threshold (then AUROC)."""

    def merit(item: tuple[str, dict[str, float]]) -> tuple[float, float]:
        rates = item[1]
        caught = rates["detection_rate"] - rates["false_alarm_rate"]
        return round(caught, 3), float(np.nan_to_num(rates["auroc"], nan=-1.0))

    return max(candidates, key=merit)[0]


def fit_unfamiliarity(
    distance_features: tuple[np.ndarray, np.ndarray, np.ndarray],
    head_features: tuple[np.ndarray, np.ndarray],
    heads: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Measure every method on validation vs made-up unfamiliar images; keep the best one.

    ``distance_features`` are the training, validation and made-up images' embeddings for the
    distances; ``head_features`` the validation and made-up images' inputs to the heads.

    The document is stored with the model: the chosen ``method``, its ``threshold``, the fitted
    ``distance`` (feature methods) and ``measured``, each method's AUROC and rates.
    """
    train_features, validation_features, unfamiliar_features = distance_features
    measured: dict[str, dict[str, float]] = {}
    chosen: dict[str, dict[str, Any]] = {}
    for method in ("mahalanobis", "knn"):
        distance = FeatureDistance.fit(train_features, method, seed)
        familiar, unfamiliar = (
            distance.scores(validation_features),
            distance.scores(unfamiliar_features),
        )
        threshold = choose_threshold(familiar, unfamiliar)
        measured[method] = summary(familiar, unfamiliar, threshold)
        chosen[method] = {
            "method": method,
            "threshold": threshold,
            "distance": distance.with_threshold(threshold).to_document(),
        }
    familiar = energy_scores(head_features[0], heads)
    unfamiliar = energy_scores(head_features[1], heads)
    threshold = choose_threshold(familiar, unfamiliar)
    measured["energy"] = summary(familiar, unfamiliar, threshold)
    chosen["energy"] = {"method": "energy", "threshold": threshold}
    best = pick_best(list(measured.items()))
    return {**chosen[best], "measured": measured}
