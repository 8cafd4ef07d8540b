"""The server's routes: a thin door onto one Inspector, through one batching worker.

Handlers read and check a request on the event loop (small bodies) or in a thread (large
ones, and every image decode), hand the images to the worker and await its future: the event
loop never runs the model.
"""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from importlib import resources

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from unet_defects.adapters.hardware import PROJECT, project_version
from unet_defects.api import Inspector
from unet_defects.application.serving import BatchingWorker, QueueFull, ShuttingDown
from unet_defects.domain.decision import decisions_json
from unet_defects.domain.errors import UnetError
from unet_defects.domain.gray import checked_image
from unet_defects.serving import v2
from unet_defects.serving.errors import BadRequest, HttpError, NotFound, TimedOut, Unavailable
from unet_defects.serving.http import BearerToken, error_response, read_body
from unet_defects.serving.metrics import CONTENT_TYPE, ServerMetrics
from unet_defects.serving.settings import ServeSettings
from unet_defects.serving.uploads import decode_upload

INLINE_BELOW = 1 << 20  # bodies smaller than this are parsed on the event loop; larger in a thread


class ServedModel:
    """The Inspector, its worker and the counts, shared by every route."""

    def __init__(self, inspector: Inspector, settings: ServeSettings, engine: str) -> None:
        self.inspector = inspector
        self.settings = settings
        self.engine = engine
        self.metrics = ServerMetrics(lambda: self.worker.depth, drift=inspector.drift)
        self.worker = BatchingWorker(inspector.inspect_many, settings.max_batch, settings.max_delay_ms / 1000,
                                     settings.max_queue, on_batch=self.metrics.batch)
        self.accepting = True

    def stop_accepting(self) -> None:
        """From the signal on: readiness and new work answer 503; queued work still runs."""
        self.accepting = False

    def close(self) -> None:
        self.accepting = False
        self.worker.close(timeout=self.settings.request_timeout_s)

    def check_room(self) -> None:
        """503 before a body is read when no work can be taken."""
        try:
            if not self.accepting:
                raise ShuttingDown("the server is shutting down and takes no new requests")
            self.worker.check_room()
        except (QueueFull, ShuttingDown) as error:
            raise Unavailable(str(error)) from None

    async def inspections(self, images: list[np.ndarray]) -> list:
        """The Inspector's verdicts on images of one size, from the worker."""
        self.check_room()
        try:
            future = self.worker.submit(images)
        except (QueueFull, ShuttingDown) as error:  # filled or closed since the check
            raise Unavailable(str(error)) from None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.settings.request_timeout_s)
        except asyncio.TimeoutError:
            future.cancel()  # dropped if still queued; a running batch finishes for the others
            raise TimedOut(f"no result within the server's --request_timeout_s {self.settings.request_timeout_s:g}") \
                from None
        except ValueError as error:  # the Inspector's one-line refusal of an image
            raise BadRequest(str(error)) from None

    def check_model(self, request: Request) -> None:
        name = request.path_params["name"]
        version = request.path_params.get("version", "1")
        if name != self.settings.name:
            raise NotFound(f"model {name!r}: unknown; this server serves {self.settings.name!r}")
        if version != "1":
            raise NotFound(f"model {name!r} version {version!r}: unknown; it has version '1'")

    def describe(self) -> dict:
        session = self.inspector.session
        return decisions_json(session.decisions, **{"from": session.decision.origin}, source=session.source,
                              step=session.step, engine=self.engine, tta=session.tta)

    def channel(self, asked: str | None) -> int | None:
        """`?class=K` of /v1/inspect's mask=png: the channel of class K; one class needs none."""
        classes = self.inspector.session.classes
        if asked is None:
            if classes:
                raise BadRequest(f"mask=png: the model has the classes {[c for c, _ in classes]}; pick one with "
                                 "class=K")
            return None
        ids = [c for c, _ in classes]
        own = self.inspector.session.class_id
        number = int(asked) if asked.isascii() and asked.isdigit() else None
        if not classes and number is not None and number == own:
            return None  # a one-class model asked for its own class
        if not classes or number not in ids:
            has = f"the classes {ids}" if classes else (f"one defect class, {own}" if own is not None else
                                                        "one defect class (no class=K)")
            raise BadRequest(f"class={asked!r}: the model has {has}")
        return ids.index(number)


_FIXED_LABELS = {"/": "page", "/v1/inspect": "inspect", "/v1/drift": "drift", "/metrics": "metrics",
                 "/v2": "server_metadata"}


def endpoint_label(path: str) -> str:
    """A fixed set of names for the metrics (a client's path never becomes a label)."""
    if path in _FIXED_LABELS:
        return _FIXED_LABELS[path]
    if path.startswith("/v2/health/"):
        return "health"
    if path.startswith("/v2/models/"):
        return "infer" if path.endswith("/infer") else "model_ready" if path.endswith("/ready") else "model_metadata"
    return "other"


class Counted:
    """ASGI middleware, outermost: every answer (a 401 included) counted with its latency."""

    def __init__(self, app, metrics: ServerMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]
        self._metrics.accepted += 1  # the event loop's thread only

        async def sending(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self._metrics.answered += 1

        try:
            await self._app(scope, receive, sending)
        except Exception:  # the error middleware outside answers it with a 500
            self._metrics.answered += 1
            raise
        finally:
            self._metrics.request(endpoint_label(scope["path"]), status[0], time.perf_counter() - started)


def create_app(door: ServedModel) -> Starlette:
    settings = door.settings
    page = resources.files("unet_defects.serving").joinpath("page.html").read_text(encoding="utf-8")

    async def live(request: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(request: Request) -> Response:
        if not door.accepting:
            raise Unavailable("shutting down")
        return JSONResponse({"ready": True})

    async def server_metadata(request: Request) -> Response:
        return JSONResponse({"name": PROJECT, "version": project_version() or "unknown",
                             "extensions": [v2.BINARY_EXTENSION]})

    async def model_metadata(request: Request) -> Response:
        door.check_model(request)
        return JSONResponse(v2.model_metadata(settings.name, f"{PROJECT}/{door.engine}", door.inspector.session.classes))

    async def model_ready(request: Request) -> Response:
        door.check_model(request)
        return await ready(request)

    async def infer(request: Request) -> Response:
        door.check_model(request)
        door.check_room()
        body = await read_body(request, settings.max_body_bytes, settings.request_timeout_s)
        header_length = request.headers.get(v2.HEADER_LENGTH)
        channels = max(1, len(door.inspector.session.classes))
        parse = lambda: v2.parse_request(body, header_length, settings.max_pixels, settings.max_batch,  # noqa: E731
                                         channels)
        parsed = parse() if len(body) < INLINE_BELOW else await run_in_threadpool(parse)
        results = await door.inspections(list(parsed.images))

        def encode() -> tuple[bytes, dict[str, str]]:
            probabilities = np.stack([result.probabilities for result in results])
            mask = np.stack([result.mask for result in results])
            return v2.encode_response(settings.name, parsed, probabilities, mask, [r.score for r in results],
                                      [r.defective for r in results])

        response_bytes = parsed.images.size * 5 * channels  # float32 probabilities and uint8 mask per value
        content, headers = encode() if response_bytes < INLINE_BELOW else await run_in_threadpool(encode)
        return Response(content, headers=headers)

    async def inspect(request: Request) -> Response:
        started = time.perf_counter()
        wants = request.query_params.get("mask")
        if wants not in (None, "png"):
            raise BadRequest(f"mask={wants!r}: the only choice is mask=png")
        channel = door.channel(request.query_params.get("class")) if wants == "png" else None
        door.check_room()
        body = await read_body(request, settings.max_body_bytes, settings.request_timeout_s)

        def decoded() -> np.ndarray:
            try:
                return checked_image(decode_upload(body, settings.max_pixels), settings.max_pixels, "the upload")
            except (ValueError, UnetError) as error:  # the readers' or the Inspector's one-line refusal
                raise BadRequest(str(error)) from None

        gray = await run_in_threadpool(decoded)
        (result,) = await door.inspections([gray])
        if wants == "png":
            from unet_defects.adapters.images import png_bytes

            mask = result.mask if channel is None else result.mask[..., channel]
            return Response(await run_in_threadpool(png_bytes, mask.astype(np.uint8) * 255), media_type="image/png")
        summary = await run_in_threadpool(result.summary)  # labels the defect records, off the event loop
        return JSONResponse({**summary, "height": int(gray.shape[0]), "width": int(gray.shape[1]),
                             "decision": door.describe(), "step": door.inspector.session.step,
                             "time_ms": round((time.perf_counter() - started) * 1000, 3)})

    async def metrics(request: Request) -> Response:
        return Response(door.metrics.exposition(), media_type=CONTENT_TYPE)

    async def drift(request: Request) -> Response:
        return JSONResponse(door.inspector.drift().as_dict())

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def http_error(request: Request, error: HttpError) -> Response:
        return error_response(error)

    async def internal(request: Request, error: Exception) -> Response:
        first = str(error).splitlines()[0][:200] if str(error) else ""
        return Response(json.dumps({"error": f"internal error: {type(error).__name__}: {first}"}), status_code=500,
                        media_type="application/json")

    async def not_found(request: Request, error: Exception) -> Response:
        status = getattr(error, "status_code", 404)
        return Response(json.dumps({"error": f"{request.method} {request.url.path}: no such endpoint here"
                                    if status == 404 else f"{request.method} is not allowed on {request.url.path}"}),
                        status_code=status, media_type="application/json")

    @asynccontextmanager
    async def lifespan(app):
        reporter = asyncio.create_task(_report_traffic(door))
        try:
            yield
        finally:
            reporter.cancel()
            await run_in_threadpool(door.close)  # the queued requests are answered first

    model = "/v2/models/{name}"
    versioned = "/v2/models/{name}/versions/{version}"
    routes = [
        Route("/", index), Route("/metrics", metrics),
        Route("/v2/health/live", live), Route("/v2/health/ready", ready), Route("/v2", server_metadata),
        Route(model, model_metadata), Route(versioned, model_metadata),
        Route(model + "/ready", model_ready), Route(versioned + "/ready", model_ready),
        Route(model + "/infer", infer, methods=["POST"]), Route(versioned + "/infer", infer, methods=["POST"]),
        Route("/v1/inspect", inspect, methods=["POST"]), Route("/v1/drift", drift),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HttpError: http_error, 404: not_found, 405: not_found,
                                        Exception: internal})
    app.add_middleware(BearerToken, token=settings.token)
    app.add_middleware(Counted, metrics=door.metrics)
    return app


async def _report_traffic(door: ServedModel) -> None:
    every = door.settings.report_every_s
    while True:
        await asyncio.sleep(every)
        line = door.metrics.traffic_line(every)
        if line is not None:
            print(f"unet serve: {line}", flush=True)
