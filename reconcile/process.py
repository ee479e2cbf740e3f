"""Whether this process is the `reconcile` command's own.

Process-wide tuning (the collector's thresholds, skipping aiohttp's unused default TLS
contexts and pydantic's search for plugins) is for the command alone: a program that
imports reconcile as a library keeps its process as it set it up.
"""

from __future__ import annotations

import os

# Set by `reconcile.cli.main` before any command runs.
OWNED_BY_THE_COMMAND = False

# pydantic's documented switch: "__all__" turns every plugin off.
PYDANTIC_PLUGINS = "PYDANTIC_DISABLE_PLUGINS"


def skip_pydantic_plugins() -> None:
    """The first model pydantic builds makes it look for plugins in the entry points of
    every installed distribution (7 ms in a plan's start-up, for plugins that observe
    validation, which the command has no use for). Unless the variable is set already:
    whoever sets it chose. Child processes inherit it."""
    os.environ.setdefault(PYDANTIC_PLUGINS, "__all__")
