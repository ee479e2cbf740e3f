"""How the help and the docs name Kaleyra (`reconcile.about`): plain text, cheap to load."""

NAME = "Kaleyra"
SUMMARY = ("video rooms with no name and no list call, kept in a state file, with a join URL per"
           " participant")
