"""The provider registry: adding a provider touches its folder and one line here."""

from __future__ import annotations

# provider type -> the package that holds its model, adapter and emulator
PROVIDER_PACKAGES: dict[str, str] = {
    "twilio": "reconcile.providers.twilio",
    "telnyx": "reconcile.providers.telnyx",
    "signalwire": "reconcile.providers.signalwire",
    "metered": "reconcile.providers.metered",
    "kaleyra": "reconcile.providers.kaleyra",
}
