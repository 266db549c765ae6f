"""core.services.imports: the Hamming distance of perceptual hashes and the near-duplicate index."""

import numpy as np

from core.services.imports import NEAR_DUPLICATE_DISTANCE, NearDuplicateIndex, hash_distances


def test_hash_distances_count_differing_bits() -> None:
    distances = hash_distances("0000000000000000", ["000000000000000f", "ffffffffffffffff"])

    assert distances.tolist() == [4, 64]
    assert hash_distances("ffffffffffffffff", np.array([0], dtype=np.uint64)).tolist() == [64]


def test_index_finds_a_look_alike_within_the_distance_and_nothing_beyond() -> None:
    index = NearDuplicateIndex({"far": "ffffffffffffffff"})
    index.add("close", "00000000000000f0")

    assert index.closest("0000000000000000") == "close"  # 4 bits apart
    assert NEAR_DUPLICATE_DISTANCE == 4
    assert index.closest("000000000000ff00") is None  # 8 and 56 bits apart
    assert NearDuplicateIndex().closest("0000000000000000") is None
