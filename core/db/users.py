"""Console users: bcrypt password hashes, failed-login counts and lockouts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import bcrypt
from pymongo import ASCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.clock import as_datetime, utcnow
from core.errors import NotFoundError, UserError

COLLECTION = "users"
ROLES = ("admin", "labeller")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,31}$")
MIN_PASSWORD_LENGTH = 8


def ensure_indexes(database: Database) -> None:
    database[COLLECTION].create_index("username", unique=True)


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
    password_hash: str

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
        )


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_PATTERN.match(name):
        raise UserError(
            f"Username {username!r} is not allowed; use 2 to 32 lowercase letters, digits, "
            "dots, dashes or underscores."
        )
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"The password has {len(password)} characters; use at least {MIN_PASSWORD_LENGTH}."
        )
    if len(password.encode()) > 72:
        raise UserError("The password is longer than 72 bytes; use a shorter one.")


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


@cache
def _dummy_hash() -> bytes:
    """A hash to check unknown usernames against, so they take as long as known ones."""
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt())


class UserRepository:
    """The `users` collection."""

    def __init__(self, database: Database) -> None:
        self._users = database[COLLECTION]

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
            raise UserError(f"Role {role!r} is not known; use one of: {', '.join(ROLES)}.")
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
        """The user if the password is right, else UserError (locks after repeated failures)."""
        now = now or utcnow()
        user = self.find(username)
        wrong = UserError("Wrong username or password; check both and try again.")
        if user is None:
            bcrypt.checkpw(password.encode(), _dummy_hash())  # same time as a real check
            raise wrong
        if user.is_locked(now):
            minutes = max(1, round((user.locked_until - now).total_seconds() / 60))
            raise UserError(
                f"Account {user.username!r} is locked after {max_failed_logins} failed sign-ins; "
                f"try again in {minutes} minute{'s' if minutes > 1 else ''}."
            )
        if bcrypt.checkpw(password.encode(), user.password_hash.encode()):
            self._users.update_one(
                {"username": user.username},
                {"$set": {"failed_logins": 0, "locked_until": None, "last_login_at": now}},
            )
            return self.get(user.username)
        failures = user.failed_logins + 1
        update: dict[str, Any] = {"failed_logins": failures}
        if failures >= max_failed_logins:
            update = {"failed_logins": 0, "locked_until": now + lockout}
        self._users.update_one({"username": user.username}, {"$set": update})
        if failures >= max_failed_logins:
            minutes = round(lockout.total_seconds() / 60)
            raise UserError(
                f"Account {user.username!r} is now locked for {minutes} minutes after "
                f"{max_failed_logins} failed sign-ins; try again later."
            )
        raise wrong

    def change_password(self, username: str, old_password: str, new_password: str) -> None:
        user = self.get(username)
        if not bcrypt.checkpw(old_password.encode(), user.password_hash.encode()):
            raise UserError("The current password is wrong; type it again.")
        self.set_password(username, new_password)

    def set_password(self, username: str, new_password: str) -> None:
        check_password(new_password)
        result = self._users.update_one(
            {"username": username.strip().lower()},
            {"$set": {"password_hash": hash_password(new_password), "locked_until": None}},
        )
        if result.matched_count == 0:
            raise NotFoundError(f"No user named {username!r}; check the spelling.")

    def remove(self, username: str, *, by: str) -> None:
        """Remove another user; never yourself, never the last administrator."""
        user = self.get(username)
        if user.username == by.strip().lower():
            raise UserError("You cannot remove yourself; ask another administrator to do it.")
        if user.is_admin and self.count_admins() <= 1:
            raise UserError(f"{user.username!r} is the last administrator; add another first.")
        self._users.delete_one({"username": user.username})
