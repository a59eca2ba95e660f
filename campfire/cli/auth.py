"""``campfire login``, ``logout`` and ``whoami`` (plus the helpers every command shares).

Examples
--------
::

    campfire login              # browser (device) login: approve a code on the web page
    campfire login --api-key    # paste an API key (or set CAMPFIRE_API_KEY)
    campfire whoami
    campfire logout
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import webbrowser
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from campfire.config import Settings

if TYPE_CHECKING:
    from campfire.client import Campfire

F = TypeVar("F", bound=Callable[..., Any])

OK, WARN, FAIL = "✓", "⚠", "✗"
#: the commands that read the local catalog (a damaged one is named in their errors)
CATALOG_COMMANDS = ("status", "sync", "download", "sql")


def cli_settings(ctx: click.Context, base_url: str | None = None) -> Settings:
    """Settings from the environment, with ``--base-url`` (command or group) on top."""
    root = ctx.find_root().obj or {}
    return Settings.from_env().with_overrides(base_url=base_url or root.get("base_url"))


def cli_client(ctx: click.Context) -> Campfire:
    """The same :class:`~campfire.client.Campfire` a notebook builds, with ``--base-url``.

    A damaged local catalog stops every command but ``sync`` here, with the one line that says
    so and how to mend it (``campfire sync --full``), instead of a traceback later on.
    """
    from campfire.client import Campfire
    from campfire.errors import CorruptCatalogError

    root = ctx.find_root().obj or {}
    cf = Campfire(base_url=root.get("base_url"))
    if ctx.info_name != "sync":
        problem = cf.reader.damage
        if problem:
            from campfire.catalog.schema import damaged_message

            raise CorruptCatalogError(damaged_message(cf.reader.db_path, problem))
    return cf


def cli_api(settings: Settings) -> Any:
    """The archive client with the login for ``settings`` (built where ``Campfire.api`` is)."""
    from campfire.client.remote import archive_client

    return archive_client(settings)


def handle_errors(fn: F) -> F:
    """Print campfire errors as one clear line on stderr and exit 1 (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from campfire.errors import CampfireError

        try:
            return fn(*args, **kwargs)
        except CampfireError as exc:
            click.echo(f"Error: {exc.message or exc}", err=True)
            sys.exit(1)
        except sqlite3.DatabaseError as exc:  # damage found only once a command read it
            from campfire.catalog.schema import damaged_message, is_damage

            if not is_damage(exc):
                raise
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.info_name in CATALOG_COMMANDS:
                message = damaged_message(Settings.from_env().db_path, exc)
            else:
                message = f"A database this command uses is damaged ({exc})."
            click.echo(f"Error: {message}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def has_display() -> bool:
    """True when a browser can plausibly be opened (a desktop session, or macOS/Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _base_url_option(fn: F) -> F:
    return click.option(
        "--base-url",
        default=None,
        metavar="URL",
        help="Archive API URL (including /api/v1); overrides CAMPFIRE_API_URL.",
    )(fn)


def _read_api_key(settings: Settings, profile: str) -> str:
    if settings.api_key:
        click.echo("Using the API key from CAMPFIRE_API_KEY.")
        return settings.api_key
    if not sys.stdin.isatty():
        key = sys.stdin.readline().strip()
        if not key:
            raise click.UsageError(
                "No API key given: set CAMPFIRE_API_KEY, pipe the key on stdin, "
                "or run in a terminal."
            )
        return key
    click.echo(f"Create an API key at {profile}")
    return str(click.prompt("API key", hide_input=True)).strip()


@click.command()
@click.option("--api-key", "api_key", is_flag=True, help="Log in with an API key (headless).")
@click.option(
    "--browser", "browser", is_flag=True, help="Log in through the browser (the default)."
)
@_base_url_option
@click.pass_context
@handle_errors
def login(ctx: click.Context, api_key: bool, browser: bool, base_url: str | None) -> None:
    r"""Log in to the archive: browser approval (device code) or an API key.

    \b
    Examples:
      campfire login
      campfire login --api-key
      CAMPFIRE_API_KEY=sk_live_... campfire login --api-key
    """
    from campfire.archive.api import ApiClient
    from campfire.archive.auth import (
        login_with_api_key,
        poll_device_flow,
        profile_url,
        save_credentials,
        start_device_flow,
    )

    settings = cli_settings(ctx, base_url)
    api = ApiClient(settings, None)
    if api_key and browser:
        raise click.UsageError("Choose one of --api-key and --browser.")
    if api_key:
        key = _read_api_key(settings, profile_url(settings.base_url))
        creds, user = login_with_api_key(api, key)
    else:
        grant = start_device_flow(api)
        click.echo("To log in, open this page and approve the code:")
        click.echo(f"  {grant.verification_uri_complete}")
        click.echo(f"  Code: {grant.user_code}")
        if has_display():
            webbrowser.open(grant.verification_uri_complete)
        click.echo("Waiting for approval", nl=False)
        creds = poll_device_flow(api, grant, on_wait=lambda: click.echo(".", nl=False))
        click.echo("")
        user = api.whoami(token=creds.access_token)
        creds.user_email = user.get("email")
    save_credentials(settings.credentials_path, creds)
    click.echo(f"{OK} Logged in as {user.get('email') or 'unknown user'}")
    click.echo(f"Credentials saved to {settings.credentials_path}")


@click.command()
@_base_url_option
@click.pass_context
@handle_errors
def logout(ctx: click.Context, base_url: str | None) -> None:
    """Revoke the saved login on the archive and delete the credentials file."""
    from campfire.archive.api import ApiClient
    from campfire.archive.auth import logout as do_logout

    settings = cli_settings(ctx, base_url)
    path = settings.credentials_path
    if do_logout(ApiClient(settings, None), path):
        click.echo(f"{OK} Logged out (removed {path})")
    else:
        click.echo("Not logged in.")
    if settings.api_key:
        click.echo(f"{WARN} CAMPFIRE_API_KEY is still set; unset it to log out completely.")


@click.command()
@click.pass_context
@handle_errors
def whoami(ctx: click.Context) -> None:
    """Show who you are logged in as, and how."""
    from campfire.archive.auth import load_credentials
    from campfire.archive.transport import redact_url
    from campfire.errors import AuthenticationError

    settings = cli_settings(ctx)
    api = cli_api(settings)
    try:
        user = api.whoami()
    except AuthenticationError as exc:
        click.echo(f"{FAIL} {exc.message}", err=True)
        sys.exit(1)
    click.echo(user.get("email") or "unknown user")
    if user.get("full_name"):
        click.echo(f"Name: {user['full_name']}")
    if settings.api_key:
        click.echo(f"Login: API key from CAMPFIRE_API_KEY ({settings.api_key[:20]}...)")
    else:
        creds = load_credentials(settings.credentials_path)
        if creds is not None and creds.type == "api_key":
            click.echo(f"Login: API key ({(creds.api_key or '')[:20]}...)")
        elif creds is not None:
            click.echo(f"Login: browser (access token valid until {creds.expires_at})")
    click.echo(f"Archive: {redact_url(settings.base_url)}")
