"""The first administrator: from ADMIN_USERNAME/ADMIN_PASSWORD, or generated at first start."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from core.db.users import UserRepository

INITIAL_PASSWORD_FILE = "initial-admin-password.txt"


@dataclass(frozen=True)
class FirstAdmin:
    username: str
    password: str | None  # shown once when generated; None when it came from the environment
    password_file: Path | None = None


def ensure_first_admin(
    users: UserRepository,
    *,
    username: str | None,
    password: str | None,
    data_dir: Path,
    generate: bool = True,
) -> FirstAdmin | None:
    """Create the first administrator when there is no user yet; None when users exist."""
    if users.count():
        return None
    if username and password:
        users.add(username, password, role="admin", created_by="environment")
        return FirstAdmin(username.strip().lower(), None)
    if not generate:
        return None
    name = (username or "admin").strip().lower()
    generated = secrets.token_urlsafe(12)
    users.add(name, generated, role="admin", created_by="first start")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / INITIAL_PASSWORD_FILE
    write_private_file(path, f"username: {name}\npassword: {generated}\n")
    return FirstAdmin(name, generated, path)


def write_private_file(path: Path, text: str) -> None:
    """Write a new file only its owner can read, created so from the start.

    An old file (or a link) at that path is removed first, never written through.
    """
    path.unlink(missing_ok=True)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o600), "w") as file:
        file.write(text)


def first_admin_notice(first: FirstAdmin) -> list[str]:
    """What the start-up output says about the first administrator's password."""
    if first.password is None:
        return [f"Sign in as {first.username!r} with ADMIN_PASSWORD."]
    return [
        f"Sign in as {first.username!r} with password {first.password!r}",
        f"(also saved in {first.password_file}: delete that file after your first sign-in,",
        "then change the password on the Users page)",
    ]
