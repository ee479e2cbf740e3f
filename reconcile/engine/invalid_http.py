"""The one error both HTTP layers share, kept below them both.

The client (`engine/http.py`) catches it and the aiohttp transport (`engine/transport.py`,
loaded only when used) raises it; neither imports the other for it.
"""

from __future__ import annotations

import httpx


class InvalidHttp(httpx.RemoteProtocolError):
    """An answer that is not valid HTTP/1.1 (a Content-Length beside chunked framing, a
    malformed header), as the transport reports it: the answer's fault, never retried."""
