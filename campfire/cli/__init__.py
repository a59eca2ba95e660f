"""The ``campfire`` command line: a thin layer over the library.

Each command lives in its own module under ``campfire.cli`` and calls one library function;
modules are imported only when their command runs, so ``campfire --help`` stays fast.

Examples
--------
>>> from click.testing import CliRunner
>>> from campfire.cli import main
>>> CliRunner().invoke(main, ["--version"]).output.startswith("campfire, version")
True
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import click

from campfire._version import __version__

__all__ = ["main"]

# command name -> "module:attribute"; each module holds one click command or group
COMMANDS: dict[str, str] = {
    "login": "campfire.cli.auth:login",
    "logout": "campfire.cli.auth:logout",
    "whoami": "campfire.cli.auth:whoami",
    "status": "campfire.cli.status:status",
    "sync": "campfire.cli.sync:sync",
    "download": "campfire.cli.download:download",
    "export-html": "campfire.cli.export_html:export_html",
    "sql": "campfire.cli.sql:sql",
    "inspect": "campfire.cli.inspect:inspect",
    "tag": "campfire.cli.tags:tag",
    "untag": "campfire.cli.tags:untag",
    "serve": "campfire.cli.serve:serve",
    "deploy": "campfire.cli.deploy:deploy",
    "admin": "campfire.cli.admin:admin",
}


#: the archive maintainers' commands, shown apart in ``--help`` (the reference's admin group)
ADMIN_COMMANDS = ("deploy", "serve", "admin")
ADMIN_TITLE = 'Admin commands (archive maintainers; pip install "campfire[deploy]")'


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands in two sections: everyone's, then the maintainers' (admin group)."""
        width = formatter.width - 6
        sections: dict[str, list[tuple[str, str]]] = {"Commands": [], ADMIN_TITLE: []}
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is None or cmd.hidden:
                continue
            title = ADMIN_TITLE if name in ADMIN_COMMANDS else "Commands"
            sections[title].append((name, cmd.get_short_help_str(width)))
        for title, rows in sections.items():
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("campfire.cli"):
                return None  # command not built yet
            raise
        command: click.Command = getattr(module, attr)
        return command


class _Warnings(logging.Handler):
    """Library warnings (an incompatible catalog rebuilt, a fallback) as ``⚠`` lines on stderr.

    The library never prints; it logs. The CLI shows what it logs at WARNING, once, in the
    CLI's own style (without a handler Python would print the bare message instead).
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"\u26a0 {record.getMessage()}", err=True)


def _show_warnings() -> None:
    logger = logging.getLogger("campfire")
    if not any(isinstance(h, _Warnings) for h in logger.handlers):
        logger.addHandler(_Warnings())


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="campfire")
@click.option(
    "--base-url",
    envvar="CAMPFIRE_API_URL",
    default=None,
    metavar="URL",
    help="Override the archive API URL (including /api/v1), e.g. for a local server.",
)
@click.pass_context
def main(ctx: click.Context, base_url: str | None) -> None:
    """campfire: sync, download and explore the CAMPFIRE NIRSpec archive."""
    ctx.ensure_object(dict)
    ctx.obj["base_url"] = base_url
    _show_warnings()


def run(args: list[str] | None = None) -> Any:
    """Run the CLI (for ``python -m campfire``)."""
    return main.main(args=args, prog_name="campfire")
