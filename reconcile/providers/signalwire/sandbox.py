"""SignalWire's sandbox declaration: default credentials and the shape of its answers."""

from reconcile.sandbox.declaration import BodyShape, SandboxDeclaration

SANDBOX = SandboxDeclaration(
    credentials=("*", "PTsandbox"),  # any project
    secrets={"project_id": "sandbox-project", "token": "PTsandbox"},
    hostile=BodyShape("id", "name", "link", ("links", "next")),
)
