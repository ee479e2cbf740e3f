"""Whether this process is the `reconcile` command's own.

Process-wide tuning (the collector's thresholds, skipping aiohttp's unused default TLS
contexts) is for the command alone: a program that imports reconcile as a library keeps
its process as it set it up.
"""

from __future__ import annotations

# Set by `reconcile.cli.main` before any command runs.
OWNED_BY_THE_COMMAND = False
