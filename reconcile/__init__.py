"""Video-conferencing rooms as code."""

import logging

__version__ = "0.1.0"

# A library logs; the program decides where to. Without this, a program that configures
# no logging had every warning printed to stderr by Python's last-resort handler. The
# CLI installs its own handler on the root logger (reconcile.redact), which still hears.
logging.getLogger(__name__).addHandler(logging.NullHandler())
