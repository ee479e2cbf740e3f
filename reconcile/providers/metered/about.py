"""How the help and the docs name Metered (`reconcile.about`): plain text, cheap to load."""

NAME = "Metered"
SUMMARY = "video rooms of a Metered app; a deleted room is archived and its name freed"
