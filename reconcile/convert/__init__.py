"""`reconcile convert`: rooms moved between providers through shared concepts."""
