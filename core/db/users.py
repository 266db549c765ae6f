"""Console users: bcrypt password hashes, failed-login counts, lockouts and session versions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import bcrypt
from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.clock import as_datetime, utcnow
from core.errors import NotFoundError, UserError, unknown_choice

COLLECTION = "users"
# failed sign-ins under names nobody has, counted like an account's so both answer alike
UNKNOWN_NAMES_COLLECTION = "sign_in_failures"
ROLES = ("admin", "labeller")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further (and bcrypt 5 refuses longer input)
HASH_ROUNDS = 12  # bcrypt cost: about 0.25 s for each password check on one core
WRONG_PASSWORD = "Wrong username or password; check both and try again."


def ensure_indexes(database: Database) -> None:
    database[COLLECTION].create_index("username", unique=True)
    database[UNKNOWN_NAMES_COLLECTION].create_index("username", unique=True)


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    email: str
    role: str
    failed_logins: int
    locked_until: datetime | None
    created_by: str | None
    created_at: datetime
    password_hash: str = field(repr=False)
    session_version: int = 0  # raised when the password changes: older sessions end

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> User:
        return cls(
            username=doc["username"],
            display_name=doc.get("display_name") or doc["username"],
            email=doc.get("email", ""),
            role=doc.get("role", "admin"),
            failed_logins=int(doc.get("failed_logins", 0)),
            locked_until=as_datetime(doc.get("locked_until")),
            created_by=doc.get("created_by"),
            created_at=doc["created_at"],
            password_hash=doc["password_hash"],
            session_version=int(doc.get("session_version", 0)),
        )


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise UserError(
            f"Username {username!r} is not allowed; use 2 to 32 lowercase letters, digits, "
            "dots, dashes or underscores."
        )
    return name


def check_password_length(password: str) -> None:
    """UserError for a password bcrypt cannot check (over 72 bytes in UTF-8)."""
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise UserError(
            f"The password is longer than {MAX_PASSWORD_BYTES} bytes (UTF-8); use a shorter one."
        )


def check_password(password: str) -> None:
    """UserError for a new password that is too short or too long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"The password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}."
        )
    check_password_length(password)


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(HASH_ROUNDS)).decode()


def _dummy_hash() -> bytes:
    """A hash to check unknown usernames against, so they take as long as known ones."""
    return _dummy_hash_of_cost(HASH_ROUNDS)


@cache
def _dummy_hash_of_cost(rounds: int) -> bytes:
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds))


class UserRepository:
    """The `users` collection."""

    def __init__(self, database: Database) -> None:
        self._users = database[COLLECTION]
        self._unknown_names = database[UNKNOWN_NAMES_COLLECTION]

    def add(
        self,
        username: str,
        password: str,
        *,
        role: str = "admin",
        display_name: str = "",
        email: str = "",
        created_by: str | None = None,
    ) -> User:
        """Create a user with a bcrypt-hashed password; UserError if the name is taken."""
        name = check_username(username)
        check_password(password)
        if role not in ROLES:
            raise unknown_choice(f"Role {role!r}", ROLES)
        if email and "@" not in email:
            raise UserError(f"E-mail {email!r} has no @; give a full address or leave it empty.")
        doc = {
            "username": name,
            "display_name": display_name.strip() or name,
            "email": email.strip(),
            "role": role,
            "password_hash": hash_password(password),
            "failed_logins": 0,
            "locked_until": None,
            "created_by": created_by,
            "created_at": utcnow(),
            "session_version": 0,
        }
        try:
            self._users.insert_one(doc)
        except DuplicateKeyError:
            raise UserError(f"User {name!r} already exists; pick another name.") from None
        return User.from_document(doc)

    def get(self, username: str) -> User:
        doc = self._users.find_one({"username": username.strip().lower()})
        if doc is None:
            raise NotFoundError(f"No user named {username!r}; check the spelling.")
        return User.from_document(doc)

    def find(self, username: str) -> User | None:
        doc = self._users.find_one({"username": username.strip().lower()})
        return User.from_document(doc) if doc else None

    def list(self) -> list[User]:
        return [User.from_document(d) for d in self._users.find().sort("username", ASCENDING)]

    def count(self) -> int:
        return self._users.count_documents({})

    def count_admins(self) -> int:
        return self._users.count_documents({"role": "admin"})

    def authenticate(
        self,
        username: str,
        password: str,
        *,
        max_failed_logins: int = 5,
        lockout: timedelta = timedelta(minutes=15),
        now: datetime | None = None,
    ) -> User:
        """The user if the password is right, else UserError (locks after repeated failures).

        Names nobody has are counted and locked the same way, so the answers never tell
        whether a name exists; each failure is one atomic `$inc`, so parallel guesses all count.
        """
        now = now or utcnow()
        check_password_length(password)
        name = username.strip().lower()
        user = self.find(name)
        if user is not None:
            locked_until = user.locked_until
        else:
            record = self._unknown_names.find_one({"username": name}) or {}
            locked_until = as_datetime(record.get("locked_until"))
        if locked_until is not None and locked_until > now:
            minutes = max(1, round((locked_until - now).total_seconds() / 60))
            raise UserError(
                f"Account {name!r} is locked after {max_failed_logins} failed sign-ins; "
                f"try again in {minutes} minute{'s' if minutes > 1 else ''}."
            )
        known_hash = user.password_hash.encode() if user is not None else _dummy_hash()
        if bcrypt.checkpw(password.encode(), known_hash) and user is not None:
            self._users.update_one(
                {"username": name},
                {"$set": {"failed_logins": 0, "locked_until": None, "last_login_at": now}},
            )
            return self.get(name)
        if user is None and not USERNAME_PATTERN.match(name):
            raise UserError(WRONG_PASSWORD)  # no one can have it: nothing to count
        counts = self._users if user is not None else self._unknown_names
        if _count_failure(
            counts,
            name,
            max_failed_logins=max_failed_logins,
            until=now + lockout,
            is_new_name_allowed=user is None,
        ):
            minutes = round(lockout.total_seconds() / 60)
            raise UserError(
                f"Account {name!r} is now locked for {minutes} minutes after "
                f"{max_failed_logins} failed sign-ins; try again later."
            )
        raise UserError(WRONG_PASSWORD)

    def change_password(self, username: str, old_password: str, new_password: str) -> User:
        """Set a new password after checking the old one; return the updated user."""
        user = self.get(username)
        too_long = len(old_password.encode()) > MAX_PASSWORD_BYTES  # bcrypt would raise
        if too_long or not bcrypt.checkpw(old_password.encode(), user.password_hash.encode()):
            raise UserError("The current password is wrong; type it again.")
        return self.set_password(username, new_password)

    def set_password(self, username: str, new_password: str) -> User:
        """Set a password, unlock the account and end every session signed in before."""
        check_password(new_password)
        doc = self._users.find_one_and_update(
            {"username": username.strip().lower()},
            {
                "$set": {"password_hash": hash_password(new_password), "locked_until": None},
                "$inc": {"session_version": 1},
            },
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise NotFoundError(f"No user named {username!r}; check the spelling.")
        return User.from_document(doc)

    def remove(self, username: str, *, by: str) -> None:
        """Remove another user; never yourself, never the last administrator."""
        user = self.get(username)
        if user.username == by.strip().lower():
            raise UserError("You cannot remove yourself; ask another administrator to do it.")
        if user.is_admin:
            self._leave_admin_role(user.username)
        self._users.delete_one({"username": user.username})

    def _leave_admin_role(self, username: str) -> None:
        """Make an administrator a labeller unless no other administrator would be left.

        Without transactions this is change-then-check: the role changes first, then the
        remaining administrators are counted and the change is undone when none is left. Two
        administrators removed at once can then both be refused, but never both removed.
        """
        changed = self._users.update_one(
            {"username": username, "role": "admin"}, {"$set": {"role": "labeller"}}
        )
        if changed.modified_count and self.count_admins() == 0:
            self._users.update_one({"username": username}, {"$set": {"role": "admin"}})
            raise UserError(f"{username!r} is the last administrator; add another first.")


def _count_failure(
    counts: Collection,
    username: str,
    *,
    max_failed_logins: int,
    until: datetime,
    is_new_name_allowed: bool,
) -> bool:
    """Count one failed sign-in atomically; lock the name and return True at the limit."""
    record = counts.find_one_and_update(
        {"username": username},
        {"$inc": {"failed_logins": 1}},
        upsert=is_new_name_allowed,  # never recreate a user removed meanwhile
        return_document=ReturnDocument.AFTER,
    )
    if record is None or int(record.get("failed_logins", 0)) < max_failed_logins:
        return False
    locked = counts.update_one(
        {"username": username, "failed_logins": {"$gte": max_failed_logins}},
        {"$set": {"failed_logins": 0, "locked_until": until}},
    )
    return locked.modified_count > 0
