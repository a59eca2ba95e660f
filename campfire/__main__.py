"""``python -m campfire`` runs the command line."""

from campfire.cli import run

run()
