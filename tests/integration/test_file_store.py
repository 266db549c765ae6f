"""The GridFS file store against the embedded MongoDB: every size reads back byte for byte."""

from __future__ import annotations

import os

import pytest
from gridfs import GridFSBucket
from pymongo.database import Database

from core.db.files import CHUNK_SIZE, UPLOAD_COMMAND_MAX_BYTES, FileStore


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3_500_000, UPLOAD_COMMAND_MAX_BYTES + 1],
    ids=["empty", "one byte", "one chunk", "one chunk and a byte", "phone photo", "over 15 MB"],
)
def test_stored_file_reads_back_byte_for_byte_with_any_gridfs_client(
    mongo_db: Database, size: int
) -> None:
    data = os.urandom(size)
    files = FileStore(mongo_db)

    file_id = files.put(data, "photo.jpg", content_type="image/jpeg")

    assert files.get(file_id) == data
    stored = GridFSBucket(mongo_db).open_download_stream(file_id)
    assert (stored.read(), stored.filename, stored.length) == (data, "photo.jpg", size)
    assert stored.metadata == {"content_type": "image/jpeg"}


def test_deleted_file_is_gone_and_the_others_stay(mongo_db: Database) -> None:
    files = FileStore(mongo_db)
    kept, doomed = files.put(b"kept", "kept.txt"), files.put(b"doomed", "doomed.txt")

    files.delete(doomed)
    files.delete(doomed)  # already gone: done

    assert not files.exists(doomed)
    assert files.get(kept) == b"kept"
