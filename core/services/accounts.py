"""The first administrator: from ADMIN_USERNAME/ADMIN_PASSWORD, or generated at first start."""

from __future__ import annotations

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
    path.write_text(f"username: {name}\npassword: {generated}\n")
    path.chmod(0o600)
    return FirstAdmin(name, generated, path)
