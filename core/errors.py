"""Errors meant for people: pages show them verbatim, jobs print them and exit with code 2."""

from collections.abc import Iterable


class UserError(Exception):
    """Something a person can fix; the message is one sentence saying what and how."""


class NotFoundError(UserError):
    """A record the person asked for does not exist (any more)."""


class ConfigError(UserError):
    """A configuration value (environment variable or secret) is wrong."""


class ServiceUnavailableError(UserError):
    """A database or server the product needs cannot be reached."""


def unknown_choice(
    named: str, choices: Iterable[object], *, error: type[UserError] = UserError
) -> UserError:
    """The error for a value outside its choices; `named` names it: f"Colour {raw!r}"."""
    return error(f"{named} is not known; use one of: {', '.join(map(str, choices))}.")
