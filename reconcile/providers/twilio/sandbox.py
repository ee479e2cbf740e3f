"""Twilio's sandbox declaration: default credentials and the shape of its answers."""

from reconcile.sandbox.declaration import BodyShape, SandboxDeclaration

SANDBOX = SandboxDeclaration(
    credentials=("AC00000000000000000000000000000001", "sandbox-auth-token"),
    hostile=BodyShape("sid", "unique_name", "link", ("meta", "next_page_url")),
)
