"""How the help and the docs name Daily (`reconcile.about`): plain text, cheap to load."""

NAME = "Daily"
SUMMARY = ("named rooms with privacy and properties, every setting but the name updated"
           " in place")
