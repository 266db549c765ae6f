"""Sign-in and account hardening against the real embedded MongoDB: races, lockouts, revocation."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from pymongo.database import Database

from core.clock import utcnow
from core.db.users import UserRepository
from core.errors import UserError
from core.services.accounts import INITIAL_PASSWORD_FILE, ensure_first_admin, first_admin_notice
from core.services.auth import (
    check_session,
    cookie_user,
    encode_session_cookie,
    session_state_for,
    sign_in,
)
from core.services.throttle import SignInThrottle
from tests.console_helpers import PASSWORD, add_user

LIMITS = {"max_failed_logins": 5, "lockout_minutes": 15}


def in_parallel(count: int, action: Callable[[int], None]) -> list[BaseException]:
    """Run action(0..count-1) in threads released together; return what they raised."""
    start = threading.Barrier(count)
    raised: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            action(index)
        except BaseException as err:  # collected and checked by the test
            raised.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return raised


def test_parallel_wrong_passwords_each_count(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")

    def guess(index: int) -> None:
        users.authenticate("ann", f"wrong-{index}", max_failed_logins=100)

    raised = in_parallel(8, guess)

    assert len(raised) == 8 and all("Wrong username or password" in str(e) for e in raised)
    assert users.get("ann").failed_logins == 8


def test_an_unknown_name_locks_with_the_same_answer_as_an_account(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")
    start = utcnow()

    def answers(name: str) -> list[str]:
        said = []
        for attempt in range(7):
            with pytest.raises(UserError) as refused:
                users.authenticate(name, f"guess-{attempt}", now=start)
            said.append(str(refused.value).replace(repr(name), "NAME"))
        return said

    assert answers("ann") == answers("mallory")
    assert "locked" in answers("ann")[-1]
    later = start + timedelta(minutes=16)
    assert users.authenticate("ann", PASSWORD, now=later).username == "ann"


def test_one_client_cannot_try_many_names(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")
    throttle = SignInThrottle(max_failures=10, window=timedelta(minutes=15))
    now = utcnow()

    for index in range(10):
        name = f"name-{index}"
        with pytest.raises(UserError, match="Wrong username or password"):
            sign_in(users, name, "guess", **LIMITS, throttle=throttle, client="a", now=now)
    with pytest.raises(UserError, match="Too many failed sign-ins from your address"):
        sign_in(users, "ann", PASSWORD, **LIMITS, throttle=throttle, client="a", now=now)

    assert sign_in(users, "ann", PASSWORD, **LIMITS, throttle=throttle, client="b", now=now)
    later = now + timedelta(minutes=16)
    assert sign_in(users, "ann", PASSWORD, **LIMITS, throttle=throttle, client="a", now=later)


def test_one_client_cannot_lock_every_account(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    names = [add_user(mongo_db, name).username for name in ("ann", "bob", "cleo", "dan")]
    throttle = SignInThrottle(max_failures=10, window=timedelta(minutes=15))

    for name in names:
        for _ in range(5):
            with pytest.raises(UserError):
                sign_in(users, name, "guess", **LIMITS, throttle=throttle, client="a")

    locked = [name for name in names if users.get(name).is_locked(utcnow())]
    assert locked == ["ann", "bob"]


@pytest.mark.parametrize("password", ["x" * 73, "é" * 40, "🐈" * 19])
def test_a_password_over_72_bytes_is_refused_with_a_sentence_at_sign_in(
    mongo_db: Database, password: str
) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")

    for name in ("ann", "mallory"):
        with pytest.raises(UserError, match="longer than 72 bytes"):
            sign_in(users, name, password, **LIMITS)


def test_setting_a_password_over_72_bytes_is_refused(mongo_db: Database, tmp_path: Path) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")
    long = "é" * 40  # 40 characters, 80 bytes

    with pytest.raises(UserError, match="longer than 72 bytes"):
        users.add("bob", long)
    with pytest.raises(UserError, match="longer than 72 bytes"):
        users.set_password("ann", long)
    mongo_db.users.delete_many({})
    with pytest.raises(UserError, match="longer than 72 bytes"):
        ensure_first_admin(users, username="boss", password=long, data_dir=tmp_path)


def test_changing_a_password_signs_out_every_session(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")
    ann = sign_in(users, "ann", PASSWORD, **LIMITS)
    laptop, phone = session_state_for(ann, now=time.time()), session_state_for(ann, now=time.time())

    assert check_session(laptop, users, now=time.time(), timeout_minutes=30).user is not None
    users.set_password("ann", "a-fresh-password-9")

    for state in (laptop, phone):
        assert check_session(state, users, now=time.time(), timeout_minutes=30).user is None
    fresh = session_state_for(users.get("ann"), now=time.time())
    assert check_session(fresh, users, now=time.time(), timeout_minutes=30).user is not None


def test_removing_a_user_signs_out_their_sessions(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    add_user(mongo_db, "ann")
    bob = add_user(mongo_db, "bob", role="labeller")
    state = session_state_for(bob, now=time.time())

    users.remove("bob", by="ann")

    assert check_session(state, users, now=time.time(), timeout_minutes=30).user is None


def test_the_last_two_administrators_cannot_remove_each_other_at_once(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    for round_number in range(6):
        a, b = f"a{round_number}", f"b{round_number}"
        mongo_db.users.delete_many({})
        add_user(mongo_db, a)
        add_user(mongo_db, b)

        raised = in_parallel(2, lambda i, a=a, b=b: users.remove((a, b)[i], by=(b, a)[i]))

        assert users.count_admins() >= 1, f"round {round_number}: no administrator left"
        assert all("last administrator" in str(err) for err in raised)


def test_the_user_repr_never_shows_the_password_hash(mongo_db: Database) -> None:
    ann = add_user(mongo_db, "ann")

    assert ann.password_hash not in repr(ann) and "$2" not in repr(ann)


def test_the_first_password_file_is_private_from_the_start(
    mongo_db: Database, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not a password file\n")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / INITIAL_PASSWORD_FILE).symlink_to(elsewhere)  # left by someone else
    old_umask = os.umask(0)
    try:
        first = ensure_first_admin(
            UserRepository(mongo_db), username=None, password=None, data_dir=data_dir
        )
    finally:
        os.umask(old_umask)

    assert elsewhere.read_text() == "not a password file\n"
    assert not first.password_file.is_symlink()
    assert first.password_file.stat().st_mode & 0o777 == 0o600
    assert first.password in first.password_file.read_text()


KEY = "k" * 32


def forged(claims: dict, *, key: str | None = KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        forged({"username": "ann", "exp_date": 4e9}, algorithm="HS512"),
        forged({"username": "ann", "exp_date": 4e9}, key=None, algorithm="none"),
        forged({"username": "ann", "exp_date": 4e9}, key="another-key-of-at-least-32-bytes!"),
        forged({"username": "ann"}),
        forged({"username": "ann", "exp_date": "tomorrow"}),
        forged({"username": ["ann"], "exp_date": 4e9}),
        forged({"username": "ann", "exp_date": 1.0}),  # expired
        forged({"username": "nobody", "exp_date": 4e9}),
    ],
)
def test_a_forged_foreign_or_garbled_cookie_signs_nobody_in(mongo_db: Database, token: str) -> None:
    add_user(mongo_db, "ann")

    assert cookie_user(token, UserRepository(mongo_db), key=KEY, now=time.time()) is None


def test_a_sign_in_cookie_ends_when_the_password_changes(mongo_db: Database) -> None:
    users = UserRepository(mongo_db)
    ann = add_user(mongo_db, "ann")
    token = encode_session_cookie(ann, key=KEY, expires_at=time.time() + 60)

    assert cookie_user(token, users, key=KEY, now=time.time()).username == "ann"
    users.set_password("ann", "a-fresh-password-9")
    assert cookie_user(token, users, key=KEY, now=time.time()) is None


def test_the_users_command_refuses_a_password_over_72_bytes(settings, mongo_db: Database) -> None:
    long = "é" * 40
    env = {
        **os.environ,
        "MONGO_URI": settings.mongo_uri,
        "MONGO_DB": settings.mongo_db,
        "DATA_DIR": str(settings.data_dir),
    }
    result = subprocess.run(
        [sys.executable, "-m", "jobs.users", "add", "ann", "--password-stdin"],
        input=f"{long}\n{long}\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert "longer than 72 bytes" in result.stderr and "Traceback" not in result.stderr
    assert UserRepository(mongo_db).count() == 0


def test_the_start_up_output_says_to_delete_the_password_file(
    mongo_db: Database, tmp_path: Path
) -> None:
    first = ensure_first_admin(
        UserRepository(mongo_db), username=None, password=None, data_dir=tmp_path
    )

    notice = " ".join(first_admin_notice(first))

    assert first.password in notice and str(first.password_file) in notice
    assert "delete that file after your first sign-in" in notice
