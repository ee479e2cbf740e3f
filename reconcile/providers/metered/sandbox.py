"""Metered's sandbox declaration: default credentials and the shape of its answers."""

from reconcile.sandbox.declaration import BodyShape, SandboxDeclaration

SANDBOX = SandboxDeclaration(
    credentials=("*", "sandbox-secret-key"),  # any app
    secrets={"secret_key": "sandbox-secret-key"},
    # One bare list of every room; a room's name stands in for a missing `_id`.
    hostile=BodyShape("_id", "roomName", "none", needed_field="roomName"),
)
