"""How the help and the docs name Telnyx (`reconcile.about`): plain text, cheap to load."""

NAME = "Telnyx"
SUMMARY = "video rooms, every field updated (and a room renamed) in place"
