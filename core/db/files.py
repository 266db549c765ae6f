"""GridFS helpers: images, thumbnails and model files live in the default GridFS bucket."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from bson import Binary, ObjectId
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import OperationFailure

CHUNK_SIZE = 255 * 1024  # GridFS' default chunk size
# nx-27017's `upload` command carries the whole file in one BSON document (16 MB at most)
UPLOAD_COMMAND_MAX_BYTES = 15 * 1024 * 1024
EMBEDDED_SERVER_PROCESS = "nx_27017"  # what its buildInfo answers as `process`


def is_embedded_server(database: Database) -> bool:
    """Whether the database is served by nx-27017 (its buildInfo names the process)."""
    return database.client.admin.command("buildInfo").get("process") == EMBEDDED_SERVER_PROCESS


def ensure_indexes(database: Database) -> None:
    """GridFS' own indexes, created once at start-up instead of checked on every upload."""
    database["fs.files"].create_index([("filename", ASCENDING), ("uploadDate", ASCENDING)])
    database["fs.chunks"].create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)


class FileStore:
    """Put, read and delete files; deleting a file already gone counts as done."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._bucket = GridFSBucket(database)
        self._is_embedded: bool | None = None  # learnt at the first put: one round trip

    def put(self, data: bytes, filename: str, *, content_type: str | None = None) -> ObjectId:
        """Store a file in the GridFS layout, readable by any GridFS client."""
        # nx-27017 formats every insert's documents, bytes and all, into a debug log line that
        # it then drops (about 50 ms of its CPU per 3.5 MB): its own `upload` command writes the
        # same GridFS tables without that. GridFSBucket is not used anywhere: it checks its
        # indexes with an unfiltered query before each upload, which nx-27017 answers in time
        # proportional to the files stored (see docs/embedded-mongo.md).
        if self._is_embedded is None:
            self._is_embedded = is_embedded_server(self._database)
        if self._is_embedded and filename and len(data) <= UPLOAD_COMMAND_MAX_BYTES:
            return self._upload(data, filename, content_type)
        return self._insert(data, filename, content_type)

    def _upload(self, data: bytes, filename: str, content_type: str | None) -> ObjectId:
        """Store a file with nx-27017's `upload` command: one round trip, no insert logged."""
        command = {"upload": 1, "filename": filename, "data": data, "chunkSize": CHUNK_SIZE}
        if content_type:
            command["metadata"] = {"content_type": content_type}
        return self._database.command(command)["fileId"]

    def _insert(self, data: bytes, filename: str, content_type: str | None) -> ObjectId:
        """Store a file by inserting its chunks and its file document, as GridFS lays them out."""
        file_id = ObjectId()
        chunks = [
            {"files_id": file_id, "n": n, "data": Binary(data[start : start + CHUNK_SIZE])}
            for n, start in enumerate(range(0, len(data), CHUNK_SIZE))
        ]
        if chunks:
            self._database["fs.chunks"].insert_many(chunks, ordered=True)
        document = {
            "_id": file_id,
            "length": len(data),
            "chunkSize": CHUNK_SIZE,
            "uploadDate": datetime.now(UTC),
            "filename": filename,
        }
        if content_type:
            document["metadata"] = {"content_type": content_type}
        self._database["fs.files"].insert_one(document)
        return file_id

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
