"""The campfire version, single-sourced for the package, the CLI and the server."""

__version__ = "0.1.0"
