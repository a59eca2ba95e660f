"""The browser tests' fixtures, ``lab`` and ``chromium``, defined in ``lab.py`` beside the tests.

They are re-exported here so that every module in this folder gets them from pytest (as
arguments) rather than importing them by name, which would shadow the parameters.
"""

from lab import chromium, lab

__all__ = ["chromium", "lab"]
