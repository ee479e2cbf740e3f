"""Daily's sandbox declaration: default credentials and the shape of its answers."""

from reconcile.sandbox.declaration import BodyShape, SandboxDeclaration

API_KEY = "sandbox-api-key"

SANDBOX = SandboxDeclaration(
    credentials=(API_KEY, API_KEY),  # a Bearer key, which also names the domain
    secrets={"api_key": API_KEY},
    # Pages of at most 100, each after the last id of the one before.
    hostile=BodyShape("id", "name", "cursor", cursor_param="starting_after",
                      limit_param="limit", page_size=100),
)
