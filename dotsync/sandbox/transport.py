"""In-process front end: an ``httpx.BaseTransport`` that hands requests to a sandbox (a :class:`Handler`).

A dropped connection raises ``httpx.RemoteProtocolError`` (no answer, nothing applied); a
``drop_after_apply`` fault raises ``httpx.ReadError`` after the sandbox applied the request.
"""

from __future__ import annotations

import httpx

from dotsync.sandbox.messages import Handler, SandboxRequest


class SandboxTransport(httpx.BaseTransport):
    """Give it to ``httpx.Client(transport=...)``; any host works (``ApiEndpoint`` echoes it back)."""

    def __init__(self, sandbox: Handler) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer from the sandbox, or raise the httpx error a dropped connection would cause."""
        body = request.read()
        target = request.url.raw_path.decode("ascii")
        base_url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
        incoming = SandboxRequest.build(request.method, target, dict(request.headers), body, base_url)
        outcome = self.sandbox.handle(incoming)
        if outcome.response is None:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if outcome.drop_after:
            raise httpx.ReadError(
                "Connection reset by peer (sandbox: dropped after applying)", request=request
            )
        answer = outcome.response
        return httpx.Response(answer.status, headers=answer.headers, content=answer.body, request=request)
