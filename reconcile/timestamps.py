"""Timestamps in the providers' own formats (shared by adapters and emulators)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_seconds(ts: float) -> str:
    """2015-07-30T20:00:00Z (Twilio)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(ts: float) -> str:
    """2021-08-11T15:58:08.559Z (Metered)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_micros(ts: float) -> str:
    """2021-04-16T09:46:20.954863Z (Telnyx, SignalWire)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
