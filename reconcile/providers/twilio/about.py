"""How the help and the docs name Twilio (`reconcile.about`): plain text, cheap to load."""

NAME = "Twilio"
SUMMARY = ("Programmable Video rooms, which end by themselves once empty; Twilio's documentation"
           " says existing customers can use the product until December 5, 2026")
