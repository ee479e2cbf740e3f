"""How the help and the docs name SignalWire (`reconcile.about`): plain text, cheap to load."""

NAME = "SignalWire"
SUMMARY = "video rooms and conferences (the prebuilt UI) of a space"
