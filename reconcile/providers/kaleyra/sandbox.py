"""Kaleyra's sandbox declaration: default credentials and the shape of its answers."""

from reconcile.sandbox.declaration import BodyShape, SandboxDeclaration

SANDBOX = SandboxDeclaration(
    credentials=("ak_live_sandbox", "ak_live_sandbox"),
    secrets={"api_key": "ak_live_sandbox"},
    hostile=BodyShape("room_id", None, "none", wrong_field="participants"),  # no list
)
