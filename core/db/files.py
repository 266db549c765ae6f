"""GridFS helpers: images, thumbnails and model files live in the default GridFS bucket."""

from __future__ import annotations

from collections.abc import Iterable

from bson import ObjectId
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from pymongo.database import Database
from pymongo.errors import OperationFailure


class FileStore:
    """Put, read and delete files; deleting a file already gone counts as done."""

    def __init__(self, database: Database) -> None:
        self._bucket = GridFSBucket(database)

    def put(self, data: bytes, filename: str, *, content_type: str | None = None) -> ObjectId:
        metadata = {"content_type": content_type} if content_type else None
        return self._bucket.upload_from_stream(filename, data, metadata=metadata)

    def get(self, file_id: ObjectId) -> bytes:
        with self._bucket.open_download_stream(file_id) as stream:
            return stream.read()

    def exists(self, file_id: ObjectId) -> bool:
        try:
            self._bucket.open_download_stream(file_id).close()
        except NoFile:
            return False
        return True

    def delete(self, file_id: ObjectId | None) -> None:
        if file_id is None:
            return
        try:
            self._bucket.delete(file_id)
        except NoFile:
            pass
        except OperationFailure as err:  # nx-27017 raises this where MongoDB does nothing
            if "not found" not in str(err).lower():
                raise

    def delete_many(self, file_ids: Iterable[ObjectId | None]) -> None:
        for file_id in file_ids:
            self.delete(file_id)
