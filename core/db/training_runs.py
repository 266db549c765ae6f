"""Training runs (one active at a time) and their log entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.clock import as_datetime, utcnow
from core.db.mongo import to_object_id
from core.errors import NotFoundError, UserError

COLLECTION = "training_runs"
LOG_COLLECTION = "training_log_entries"
ACTIVE_STATUSES = ("queued", "running")
FINISHED_STATUSES = ("succeeded", "failed", "cancelled")
STATUSES = (*ACTIVE_STATUSES, *FINISHED_STATUSES)
STALE_AFTER_S = 120.0  # a running job writes a heartbeat every 10 s; this much silence means dead


def ensure_indexes(database: Database) -> None:
    runs = database[COLLECTION]
    # at most one queued or running run: the slot field exists only while a run is active
    runs.create_index(
        "slot", unique=True, partialFilterExpression={"slot": "active"}, name="one_active_run"
    )
    runs.create_index([("requested_at", DESCENDING)])
    database[LOG_COLLECTION].create_index([("run_id", ASCENDING), ("timestamp", ASCENDING)])


@dataclass(frozen=True)
class TrainingRun:
    id: str
    status: str
    parameters: dict[str, Any]
    requested_by: str
    requested_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    heartbeat_at: datetime | None = None
    pid: int | None = None
    host: str | None = None
    epoch: int = 0
    epochs: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    model_id: str | None = None
    is_model_activated: bool = False
    is_cancel_requested: bool = False
    backbone_used: str | None = None  # differs from the requested one after a fallback

    @property
    def backbone(self) -> str:
        """The backbone the run used (once known), else the one it asked for."""
        return self.backbone_used or str(self.parameters.get("backbone", ""))

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        return ((self.ended_at or utcnow()) - self.started_at).total_seconds()

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> TrainingRun:
        progress = doc.get("progress") or {}
        return cls(
            id=str(doc["_id"]),
            status=doc["status"],
            parameters=dict(doc.get("parameters") or {}),
            requested_by=doc.get("requested_by", ""),
            requested_at=doc["requested_at"],
            started_at=as_datetime(doc.get("started_at")),
            ended_at=as_datetime(doc.get("ended_at")),
            heartbeat_at=as_datetime(doc.get("heartbeat_at")),
            pid=doc.get("pid"),
            host=doc.get("host"),
            epoch=int(progress.get("epoch", 0)),
            epochs=int(progress.get("epochs", 0)),
            metrics=dict(progress.get("metrics") or {}),
            history=list(progress.get("history") or []),
            error=doc.get("error"),
            model_id=doc.get("model_id"),
            is_model_activated=bool(doc.get("is_model_activated")),
            is_cancel_requested=bool(doc.get("cancel_requested")),
            backbone_used=doc.get("backbone_used"),
        )


@dataclass(frozen=True)
class LogEntry:
    timestamp: datetime
    level: str
    message: str


class TrainingRunRepository:
    """`training_runs` and `training_log_entries`."""

    def __init__(self, database: Database) -> None:
        self._runs = database[COLLECTION]
        self._log = database[LOG_COLLECTION]

    def create(self, parameters: Mapping[str, Any], *, requested_by: str) -> str:
        """Queue a run; UserError if another run is queued or running."""
        doc = {
            "status": "queued",
            "slot": "active",
            "parameters": dict(parameters),
            "requested_by": requested_by,
            "requested_at": utcnow(),
            "progress": {"epoch": 0, "epochs": int(parameters.get("epochs", 0)), "history": []},
            "cancel_requested": False,
        }
        try:
            return str(self._runs.insert_one(doc).inserted_id)
        except DuplicateKeyError:
            active = self.active()
            which = f"Run {active.id} is still {active.status}" if active else "A run is active"
            raise UserError(f"{which}; wait for it to end or cancel it first.") from None

    def get(self, run_id: str) -> TrainingRun:
        doc = self._runs.find_one({"_id": to_object_id(run_id, "training run")})
        if doc is None:
            raise NotFoundError(f"No training run with id {run_id!r}; reload the list of runs.")
        return TrainingRun.from_document(doc)

    def active(self) -> TrainingRun | None:
        doc = self._runs.find_one({"slot": "active"})
        return TrainingRun.from_document(doc) if doc else None

    def list(self, limit: int = 50) -> list[TrainingRun]:
        cursor = self._runs.find().sort("requested_at", DESCENDING).limit(limit)
        return [TrainingRun.from_document(doc) for doc in cursor]

    def claim(self, run_id: str, *, pid: int, host: str) -> bool:
        """Atomically move a queued run to running for this process; False if not queued."""
        now = utcnow()
        doc = self._runs.find_one_and_update(
            {"_id": to_object_id(run_id, "training run"), "status": "queued"},
            {
                "$set": {
                    "status": "running",
                    "pid": pid,
                    "host": host,
                    "started_at": now,
                    "heartbeat_at": now,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return doc is not None

    def heartbeat(self, run_id: str) -> None:
        self._runs.update_one({"_id": to_object_id(run_id)}, {"$set": {"heartbeat_at": utcnow()}})

    def record_epoch(
        self, run_id: str, epoch: int, epochs: int, metrics: Mapping[str, float]
    ) -> None:
        clean = {k: float(v) for k, v in metrics.items()}
        history = self.get(run_id).history + [{"epoch": epoch, **clean}]
        # the job is the only writer of its progress, so read-modify-write is safe; a whole list
        # is $set because nx-27017 stores a document given to $push as a JSON string
        self._runs.update_one(
            {"_id": to_object_id(run_id)},
            {
                "$set": {
                    "progress": {
                        "epoch": epoch,
                        "epochs": epochs,
                        "metrics": clean,
                        "history": history,
                    },
                    "heartbeat_at": utcnow(),
                }
            },
        )

    def record_backbone(self, run_id: str, backbone: str) -> None:
        """Note the backbone the job really uses (the fallback when weights are missing)."""
        self._runs.update_one({"_id": to_object_id(run_id)}, {"$set": {"backbone_used": backbone}})

    def request_cancel(self, run_id: str) -> None:
        """Ask the job to stop at its next batch (a queued run is cancelled at once)."""
        run = self.get(run_id)
        if not run.is_active:
            raise UserError(f"Run {run_id} is already {run.status}; there is nothing to cancel.")
        self._runs.update_one({"_id": to_object_id(run_id)}, {"$set": {"cancel_requested": True}})
        if run.status == "queued":
            self.finish(run_id, "cancelled", error="Cancelled before it started.")

    def is_cancel_requested(self, run_id: str) -> bool:
        doc = self._runs.find_one({"_id": to_object_id(run_id)}, {"cancel_requested": 1})
        return bool(doc and doc.get("cancel_requested"))

    def finish(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        model_id: str | None = None,
        is_model_activated: bool = False,
    ) -> None:
        """End a run with its final status; frees the one-active-run slot."""
        if status not in STATUSES or status in ACTIVE_STATUSES:
            raise ValueError(f"a run ends as succeeded, failed or cancelled, not {status!r}")
        self._runs.update_one(
            {"_id": to_object_id(run_id), "status": {"$in": list(ACTIVE_STATUSES)}},
            {
                "$set": {
                    "status": status,
                    "ended_at": utcnow(),
                    "error": error,
                    "model_id": model_id,
                    "is_model_activated": is_model_activated,
                },
                "$unset": {"slot": ""},
            },
        )

    def fail_stale(
        self, *, heartbeat_timeout_s: float = STALE_AFTER_S, queue_timeout_s: float = 600
    ) -> int:
        """Mark runs failed whose job stopped sending heartbeats (killed, host lost)."""
        now = utcnow()
        stale = 0
        for doc in self._runs.find({"slot": "active"}):
            run = TrainingRun.from_document(doc)
            if run.status == "running":
                last = run.heartbeat_at or run.started_at or run.requested_at
                is_stale = now - last > timedelta(seconds=heartbeat_timeout_s)
                reason = f"The training job stopped answering (no heartbeat since {last:%H:%M:%S})."
            else:
                is_stale = now - run.requested_at > timedelta(seconds=queue_timeout_s)
                reason = "The training job never started; check the job log on its host."
            if is_stale:
                self.finish(run.id, "failed", error=reason)
                self.log(run.id, "error", reason)
                stale += 1
        return stale

    def log(self, run_id: str, level: str, message: str) -> None:
        self._log.insert_one(
            {"run_id": run_id, "timestamp": utcnow(), "level": level, "message": message}
        )

    def log_entries(self, run_id: str, *, skip: int = 0, limit: int = 1000) -> list[LogEntry]:
        """Log lines in order; a live view passes how many it already shows as `skip`."""
        cursor = (
            self._log.find({"run_id": run_id})
            .sort([("timestamp", ASCENDING), ("_id", ASCENDING)])
            .skip(skip)
            .limit(limit)
        )
        return [LogEntry(as_datetime(d["timestamp"]), d["level"], d["message"]) for d in cursor]

    def last_log_entries(self, run_id: str, count: int = 20) -> list[LogEntry]:
        cursor = (
            self._log.find({"run_id": run_id})
            .sort([("timestamp", DESCENDING), ("_id", DESCENDING)])
            .limit(count)
        )
        entries = [LogEntry(as_datetime(d["timestamp"]), d["level"], d["message"]) for d in cursor]
        return entries[::-1]
