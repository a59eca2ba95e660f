"""``campfire tag`` and ``campfire untag``: add objects to a tag, or take them out.

Examples
--------
::

    campfire tag my-lrds J021737.42-051208.5 ember_uds_p4_654321 --create
    campfire tag shared-review J021737.42-051208.5 --create --visibility public_edit
    campfire untag my-lrds J021737.42-051208.5

They call ``cf.tag``, ``cf.untag`` and ``cf.create_tag``, saved in the local catalog at once and
sent to the archive (or queued for the next ``campfire sync`` when it cannot be reached).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from campfire.cli.auth import OK, cli_client, handle_errors

if TYPE_CHECKING:
    from campfire.client import Campfire

_VISIBILITY = click.Choice(["private", "public_read", "public_edit"])


def _sent(cf: Campfire, slug: str) -> str:
    waiting = any(e.target == slug and e.state == "pending" for e in cf.outbox)
    return "queued for the next campfire sync" if waiting else "sent to the archive"


@click.command()
@click.argument("slug")
@click.argument("objects", nargs=-1, required=True, metavar="OBJECT...")
@click.option("--create", is_flag=True, help="Create the tag first if there is none.")
@click.option("--name", help="With --create: the tag's display name.")
@click.option(
    "--visibility",
    type=_VISIBILITY,
    default="private",
    show_default=True,
    help="With --create: who sees the tag.",
)
@click.pass_context
@handle_errors
def tag(
    ctx: click.Context,
    slug: str,
    objects: tuple[str, ...],
    create: bool,
    name: str | None,
    visibility: str,
) -> None:
    """Add OBJECTs (object ids or target ids) to the tag SLUG."""
    cf = cli_client(ctx)
    if create and slug not in {str(s) for s in cf.get_tags()["slug"]}:
        cf.create_tag(slug, name=name, visibility=visibility)
        click.echo(f"{OK} Created tag {slug} ({visibility}).")
    n = cf.tag(list(objects), slug)
    already = len(objects) - n
    click.echo(f"{OK} Tagged {n} object(s) {slug} ({already} already were); {_sent(cf, slug)}.")


@click.command()
@click.argument("slug")
@click.argument("objects", nargs=-1, required=True, metavar="OBJECT...")
@click.pass_context
@handle_errors
def untag(ctx: click.Context, slug: str, objects: tuple[str, ...]) -> None:
    """Take OBJECTs (object ids or target ids) out of the tag SLUG."""
    cf = cli_client(ctx)
    n = cf.untag(list(objects), slug)
    click.echo(f"{OK} Untagged {n} object(s) from {slug}; {_sent(cf, slug)}.")
