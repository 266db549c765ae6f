"""Console users: python -m jobs.users add NAME | list | remove NAME | set-password NAME."""

from __future__ import annotations

import argparse
import getpass
import sys

from core.config import Settings
from core.db.database import get_database
from core.db.users import ROLES, UserRepository
from core.errors import UserError
from jobs._cli import run_cli


def read_password(from_stdin: bool) -> str:
    """A new password typed twice: without echo at a terminal, or two lines on stdin."""
    if from_stdin or not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
        first, second = (lines + ["", ""])[:2]
    else:
        first = getpass.getpass("New password: ")
        second = getpass.getpass("Same password again: ")
    if first != second:
        raise UserError("The two passwords differ; type the same password twice.")
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.users", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user (asks for the password twice)")
    add.add_argument("username")
    add.add_argument("--role", choices=ROLES, default="admin")
    add.add_argument("--display-name", default="")
    add.add_argument("--email", default="")
    add.add_argument("--password-stdin", action="store_true", help="read it twice from stdin")
    commands.add_parser("list", help="list users")
    remove = commands.add_parser("remove", help="remove a user (never the last administrator)")
    remove.add_argument("username")
    reset = commands.add_parser("set-password", help="set a user's password and unlock it")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    args = parser.parse_args(argv)

    users = UserRepository(get_database(Settings.from_env()))
    if args.command == "add":
        user = users.add(
            args.username,
            read_password(args.password_stdin),
            role=args.role,
            display_name=args.display_name,
            email=args.email,
            created_by="command line",
        )
        print(f"Added {user.role} {user.username!r}.")
    elif args.command == "list":
        for user in users.list():
            print(f"{user.username:20} {user.role:9} {user.display_name}")
    elif args.command == "remove":
        users.remove(args.username, by="command line")
        print(f"Removed {args.username!r}.")
    else:
        users.set_password(args.username, read_password(args.password_stdin))
        print(f"Password of {args.username!r} set; the account is unlocked.")
    return 0


if __name__ == "__main__":
    run_cli(main)
