"""HTTP plumbing for the server: JSON errors, the bearer token, and bodies read within limits."""

from __future__ import annotations

import asyncio
import hmac
import json
import zlib

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from unet_defects.serving.errors import BadRequest, BodyTimedOut, HttpError, TooLarge, Unauthorized

# Open to anyone: the liveness and readiness probes, and the static page (it holds no model
# data; the page sends the token the user types with each call it makes).
OPEN_PATHS = frozenset({"/v2/health/live", "/v2/health/ready", "/"})


def error_response(error: HttpError) -> Response:
    return Response(json.dumps({"error": error.message}), status_code=error.status, media_type="application/json")


class BearerToken:
    """ASGI middleware: every HTTP request but OPEN_PATHS needs `Authorization: Bearer <token>`,
    compared in constant time."""

    def __init__(self, app, token: str | None) -> None:
        self._app = app
        self._token = None if token is None else token.encode()

    async def __call__(self, scope, receive, send) -> None:
        if self._token is not None and scope["type"] == "http" and scope["path"] not in OPEN_PATHS:
            given = dict(scope["headers"]).get(b"authorization", b"")
            scheme, _, credential = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(), self._token):
                reason = "a missing" if not given else "a wrong"
                response = error_response(Unauthorized(f"{reason} token: send Authorization: Bearer <token>"))
                response.headers["www-authenticate"] = "Bearer"
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The whole body, refused with 413 as soon as it is known to pass `limit` bytes (its
    Content-Length, else while it streams in); gzip or deflate bodies are inflated within it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the body is {int(declared):,} bytes, more than the server's --max_body_mb "
                       f"({limit:,} bytes)")

    async def collect() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"the body passed the server's --max_body_mb ({limit:,} bytes) while streaming in")
            chunks.append(chunk)
        return b"".join(chunks)

    try:
        body = await asyncio.wait_for(collect(), timeout)
    except asyncio.TimeoutError:
        raise BodyTimedOut(f"the body did not arrive within the server's --request_timeout_s {timeout:g}") from None
    encoding = request.headers.get("content-encoding", "identity").lower()
    return body if encoding in ("identity", "") else await run_in_threadpool(_inflated, body, encoding, limit)


def _inflated(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("identity", ""):
        return body
    if encoding not in ("gzip", "deflate"):
        raise BadRequest(f"Content-Encoding {encoding!r}: the server reads gzip, deflate or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise BadRequest(f"the {encoding} body does not inflate ({error})") from None
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise TooLarge(f"the {encoding} body inflates past the server's --max_body_mb ({limit:,} bytes)")
    return inflated
