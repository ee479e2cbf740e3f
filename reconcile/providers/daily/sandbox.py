"""Daily's sandbox declaration: default credentials and the shape of its answers."""

from reconcile.sandbox.declaration import BodyShape, SandboxDeclaration

API_KEY = "sandbox-api-key"

SANDBOX = SandboxDeclaration(
    credentials=(API_KEY, API_KEY),  # a Bearer key, which also names the domain
    secrets={"api_key": API_KEY},
    # Cursor pages (`starting_after`) fit neither the link nor the numbered style: the
    # paging modes leave Daily's `{total_count, data}` alone.
    hostile=BodyShape("id", "name", "none"),
)
