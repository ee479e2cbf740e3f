"""Telnyx's sandbox declaration: default credentials and the shape of its answers."""

from reconcile.sandbox.declaration import BodyShape, SandboxDeclaration

SANDBOX = SandboxDeclaration(
    credentials=("KEYsandbox", "KEYsandbox"),
    secrets={"api_key": "KEYsandbox"},
    hostile=BodyShape("id", "unique_name", "numbered", page_param="page[number]",
                      page_count=("meta", "total_pages")),
)
