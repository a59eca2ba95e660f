"""``campfire admin``: users, program access and API keys of a local archive.

Examples
--------
::

    campfire admin --archive ./archive add-user ada@example.org --admin
    campfire admin --archive ./archive grant ada@example.org EMBER-UDS
    campfire admin --archive ./archive grant-inspect ada@example.org
    campfire admin --archive ./archive create-key ada@example.org
    campfire admin --archive ./archive set-public EMBER-UDS
    campfire admin --archive ./archive list-users
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from campfire.cli.options import archive_option, database_option, store_option

__all__ = ["admin"]


def _archive(ctx: click.Context) -> Any:
    from campfire.errors import CampfireError
    from campfire.server.archive import Archive, is_archive

    folder, database = ctx.obj["archive_dir"], ctx.obj.get("database")
    if database is None and not is_archive(folder):
        raise click.UsageError(
            f"{folder} holds no archive; pass --archive DIR (or deploy products into it first)"
        )
    try:
        return Archive(folder, database=database, store=ctx.obj.get("store"))
    except CampfireError as exc:
        raise click.ClickException(str(exc)) from None


def _errors(fn: Callable[..., None]) -> Callable[..., None]:
    """Turn library errors into clean CLI errors."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from campfire.errors import CampfireError

        try:
            fn(*args, **kwargs)
        except CampfireError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group()
@archive_option("The archive directory.")
@database_option()
@store_option
@click.pass_context
def admin(ctx: click.Context, archive_dir: Path, database: str | None, store: str | None) -> None:
    """Manage users, program access and API keys of a local archive."""
    ctx.ensure_object(dict)
    ctx.obj["archive_dir"] = archive_dir
    ctx.obj["database"] = database
    ctx.obj["store"] = store


@admin.command("add-user")
@click.argument("email")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Web sign-in password (prompted if not given).",
)
@click.option("--name", "full_name", default=None, help="Full name.")
@click.option("--admin", "is_admin", is_flag=True, help="May deploy products remotely.")
@click.option(
    "--inspect", "can_inspect", is_flag=True, help="May write inspections (see grant-inspect)."
)
@click.pass_context
@_errors
def add_user_cmd(
    ctx: click.Context,
    email: str,
    password: str,
    full_name: str | None,
    is_admin: bool,
    can_inspect: bool,
) -> None:
    """Add a user who signs in with EMAIL."""
    from campfire.server.auth.users import add_user

    user = add_user(
        _archive(ctx), email, password, full_name=full_name, admin=is_admin, can_inspect=can_inspect
    )
    roles = [r for r, on in (("admin", is_admin), ("can inspect", can_inspect)) if on]
    said = f" ({', '.join(roles)})" if roles else ""
    click.echo(f"added {user['email']}{said}")


def _program_access_command(name: str, doc: str, call: str, said: tuple[str, str]) -> None:
    """Register ``admin NAME EMAIL PROGRAM``: run ``campfire.server.auth.users.<call>`` and say
    ``said[0]`` when it changed the grants, ``said[1]`` when there was nothing to change.
    """

    @admin.command(name, help=doc)
    @click.argument("email")
    @click.argument("program")
    @click.pass_context
    @_errors
    def command(ctx: click.Context, email: str, program: str) -> None:
        from campfire.server.auth import users

        changed = getattr(users, call)(_archive(ctx), email, program)
        click.echo(f"{email} {said[0] if changed else said[1]} {program}")


_program_access_command(
    "grant", "Give EMAIL access to PROGRAM.", "grant_program", ("can now see", "already had")
)
_program_access_command(
    "revoke", "Take PROGRAM away from EMAIL.", "revoke_program", ("lost", "had no grant for")
)


def _inspect_command(name: str, doc: str, allowed: bool, said: tuple[str, str]) -> None:
    """Register ``admin NAME EMAIL``: grant or revoke the permission to write inspections."""

    @admin.command(name, help=doc)
    @click.argument("email")
    @click.pass_context
    @_errors
    def command(ctx: click.Context, email: str) -> None:
        from campfire.server.auth.users import set_can_inspect

        changed = set_can_inspect(_archive(ctx), email, allowed)
        click.echo(f"{email} {said[0] if changed else said[1]}")


_inspect_command(
    "grant-inspect",
    "Let EMAIL write inspections, DQ flags, comments and lists (on programs they can see).",
    True,
    ("may now write inspections", "could already write inspections"),
)
_inspect_command(
    "revoke-inspect",
    "Stop EMAIL from writing inspections (they keep reading).",
    False,
    ("may no longer write inspections", "could not write inspections"),
)


@admin.command("create-key")
@click.argument("email")
@click.option("--name", default=None, help="A label for the key.")
@click.pass_context
@_errors
def create_key_cmd(ctx: click.Context, email: str, name: str | None) -> None:
    """Create an API key for EMAIL and print it (shown only once)."""
    from campfire.server.auth.users import create_api_key

    click.echo(create_api_key(_archive(ctx), email, name))


@admin.command("revoke-key")
@click.argument("key")
@click.pass_context
@_errors
def revoke_key_cmd(ctx: click.Context, key: str) -> None:
    """Deactivate an API key, given the key or its prefix (sk_live_abcd1234)."""
    from campfire.server.auth.users import revoke_api_key

    n = revoke_api_key(_archive(ctx), key)
    click.echo(f"revoked {n} key{'s' if n != 1 else ''}")


@admin.command("set-public")
@click.argument("program")
@click.pass_context
@_errors
def set_public_cmd(ctx: click.Context, program: str) -> None:
    """Make PROGRAM visible to every user."""
    from campfire.server.auth.users import set_program_public

    changed = set_program_public(_archive(ctx), program, True)
    click.echo(f"{program} is {'now' if changed else 'already'} public")


@admin.command("set-private")
@click.argument("program")
@click.pass_context
@_errors
def set_private_cmd(ctx: click.Context, program: str) -> None:
    """Make PROGRAM visible only to users granted it."""
    from campfire.server.auth.users import set_program_public

    changed = set_program_public(_archive(ctx), program, False)
    click.echo(f"{program} is {'now' if changed else 'already'} private")


@admin.command("list-users")
@click.pass_context
@_errors
def list_users_cmd(ctx: click.Context) -> None:
    """List users with their grants and active API keys."""
    from campfire.server.auth.users import list_users

    users = list_users(_archive(ctx))
    if not users:
        click.echo("no users")
    for u in users:
        roles = [r for r, on in (("admin", u["admin"]), ("can inspect", u["can_inspect"])) if on]
        flag = f" ({', '.join(roles)})" if roles else ""
        click.echo(f"{u['email']}{flag}")
        click.echo(f"  programs: {', '.join(u['programs']) or 'public only'}")
        click.echo(f"  api keys: {', '.join(u['api_keys']) or 'none'}")
