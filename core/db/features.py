"""Cached image embeddings per (image, backbone key), so retraining a head costs seconds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from bson import Binary
from pymongo.database import Database

COLLECTION = "image_features"


def ensure_indexes(database: Database) -> None:
    database[COLLECTION].create_index([("image_id", 1), ("backbone_key", 1)], unique=True)


class FeatureRepository:
    """The `image_features` collection: float32 vectors stored as bytes."""

    def __init__(self, database: Database) -> None:
        self._features = database[COLLECTION]

    def get_many(self, image_ids: Sequence[str], backbone_key: str) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(image_ids), 500):
            chunk = list(image_ids[start : start + 500])
            cursor = self._features.find(
                {"backbone_key": backbone_key, "image_id": {"$in": chunk}},
                {"image_id": 1, "vector": 1},
            )
            for doc in cursor:
                found[doc["image_id"]] = np.frombuffer(bytes(doc["vector"]), dtype=np.float32)
        return found

    def put_many(self, backbone_key: str, vectors: Mapping[str, np.ndarray]) -> None:
        if not vectors:
            return
        # delete + insert rather than upserts: nx-27017 cannot upsert documents holding bytes
        self._features.delete_many(
            {"backbone_key": backbone_key, "image_id": {"$in": list(vectors)}}
        )
        self._features.insert_many(
            [
                {
                    "image_id": image_id,
                    "backbone_key": backbone_key,
                    "vector": Binary(np.asarray(vector, dtype=np.float32).tobytes()),
                }
                for image_id, vector in vectors.items()
            ],
            ordered=False,
        )

    def count(self, backbone_key: str | None = None) -> int:
        query = {"backbone_key": backbone_key} if backbone_key else {}
        return self._features.count_documents(query)
