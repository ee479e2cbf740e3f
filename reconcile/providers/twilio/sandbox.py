"""Twilio's sandbox declaration: default credentials and the shape of its answers."""

from reconcile.sandbox.declaration import BodyShape, SandboxDeclaration

ACCOUNT_SID, AUTH_TOKEN = "AC00000000000000000000000000000001", "sandbox-auth-token"

SANDBOX = SandboxDeclaration(
    credentials=(ACCOUNT_SID, AUTH_TOKEN),
    secrets={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
    hostile=BodyShape("sid", "unique_name", "link", ("meta", "next_page_url")),
)
