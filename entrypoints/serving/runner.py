"""Running the server: on uvicorn until SIGTERM or SIGINT, or in a thread (tests, benchmarks,
a service that embeds it).

On a signal uvicorn stops listening, answers the requests in flight, and the worker answers
every request queued before it stops; then `serve` returns 0. (uvicorn re-raises a caught
signal after its shutdown, which would end the process with -15; the subclass keeps the
graceful stop and drops the re-raise.)
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn

from unet_defects import Inspector
from unet_defects.serving.app import ServedModel, create_app
from unet_defects.serving.settings import ServeSettings


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, door: ServedModel) -> None:
        super().__init__(config)
        self.door = door

    def handle_exit(self, sig, frame) -> None:
        if self.should_exit and sig == 2:  # a second Ctrl-C stops at once
            self.force_exit = True
        self.door.stop_accepting()
        self.should_exit = True


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening socket, so the address (port 0: a free one) is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _server(door: ServedModel) -> _Server:
    """uvicorn for the door: requests in flight at a signal get as long as a request may take
    (the queue behind them included), and connections past four queues' worth get 503."""
    settings = door.settings
    config = uvicorn.Config(create_app(door), log_level="warning", access_log=False, lifespan="on",
                            timeout_graceful_shutdown=int(settings.request_timeout_s) + 5, timeout_keep_alive=30,
                            limit_concurrency=max(64, 4 * settings.max_queue))
    return _Server(config, door)


def serve(inspector: Inspector, settings: ServeSettings, engine: str, host: str, port: int,
          say: Callable[[str], None] | None = None) -> int:
    """Serve until a signal; 0 once every accepted request is answered."""
    say = say or (lambda text: print(text, flush=True))
    sock = bound_socket(host, port)
    door = ServedModel(inspector, settings, engine)
    server = _server(door)
    address = _address(host, sock.getsockname()[1])
    session = inspector.session
    say(f"unet serve: {address} (page at /, Open Inference Protocol v2 at /v2/models/{settings.name}, "
        f"uploads at /v1/inspect, metrics at /metrics)")
    say(f"unet serve: model {session.source}, engine {engine}, tta {session.tta}; "
        f"decision {session.decision.describe()}")
    batching = (f"up to {settings.max_batch} images a batch, waiting at most {settings.max_delay_ms:g} ms for more"
                if settings.max_batch > 1 else "off (--max_batch 1)")
    say(f"unet serve: batching {batching}; queue {settings.max_queue} requests; "
        f"token {'required' if settings.token else 'not required'}; SIGTERM or Ctrl-C stops it")
    drift = inspector.drift()
    say(f"unet serve: drift over the last {settings.drift_window} images against {drift.reference} (at /v1/drift)"
        if drift.reference is not None and settings.drift_window else f"unet serve: drift: {drift.note}")
    server.run(sockets=[sock])
    counts = door.metrics
    say(f"unet serve: stopped; {counts.accepted} requests accepted, {counts.answered} answered")
    return 0


def drift_line(text: str) -> str:
    """The terminal's line for the Inspector's drift alarm (a statistic past its bound)."""
    return f"unet serve: warning: {text}"


def drift_warning(text: str) -> None:
    print(drift_line(text), flush=True)


def _address(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextmanager
def serving_in_thread(inspector: Inspector, settings: ServeSettings, engine: str = "tensorflow",
                      host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """The server in a background thread for the block; yields its address ("127.0.0.1:port",
    as tritonclient takes it). Leaving the block stops it as SIGTERM would."""
    with door_in_thread(ServedModel(inspector, settings, engine), host, port) as address:
        yield address


@contextmanager
def door_in_thread(door: ServedModel, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    sock = bound_socket(host, port)
    server = _server(door)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="unet-serve", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server thread ended before it started")
            thread.join(0.01)
        yield f"{host}:{sock.getsockname()[1]}"
    finally:
        server.handle_exit(15, None)  # as SIGTERM would
        thread.join(door.settings.request_timeout_s + 10)
        sock.close()
