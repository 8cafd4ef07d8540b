"""What `unet serve` was asked for, checked before a model is opened."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import attrs

from unet_defects.api import DEFAULT_MAX_PIXELS
from unet_defects.domain.drift_window import DEFAULT_BOUND, DEFAULT_MIN_IMAGES, DEFAULT_WINDOW, DriftSettings, parse_bounds
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.validation import check_model_name

DEFAULT_NAME = "unet"


@attrs.frozen
class ServeSettings:
    name: str = DEFAULT_NAME  # the model's name in /v2/models/{name}
    max_batch: int = 8  # images run together; 1 turns batching off
    max_delay_ms: float = 5.0  # the longest a short batch waits for more while others queue
    max_queue: int = 64  # requests waiting; past it, 503
    max_body_mb: float = 64.0
    max_pixels: int = DEFAULT_MAX_PIXELS  # the Inspector's
    token: str | None = None  # Authorization: Bearer <token> on every endpoint but health and the page
    request_timeout_s: float = 60.0  # reading a body, or waiting for its result
    report_every_s: float = 60.0  # a traffic line on the terminal while busy
    drift_window: int = DEFAULT_WINDOW  # the last images the drift figures cover (0: off)
    drift_min_images: int = DEFAULT_MIN_IMAGES  # no drift judged below
    drift_bounds: str = f"{DEFAULT_BOUND:g}"  # a PSI for every statistic, or NAME=PSI,... (docs/serve.md)

    def __attrs_post_init__(self) -> None:
        for key in ("max_batch", "max_queue", "max_pixels"):
            if getattr(self, key) < 1:
                raise ConfigError(f"--{key}: must be 1 or more, got {getattr(self, key)}")
        for key in ("max_body_mb", "request_timeout_s", "report_every_s"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"--{key}: must be above 0, got {getattr(self, key)}")
        if self.max_delay_ms < 0:
            raise ConfigError(f"--max_delay_ms: must be 0 or more, got {self.max_delay_ms}")
        check_model_name(self.name)
        self.drift  # checked here, before a model is opened

    @property
    def drift(self) -> DriftSettings:
        return DriftSettings(self.drift_window, self.drift_min_images, parse_bounds(self.drift_bounds))

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)


def read_token(path: str | None) -> str | None:
    """The token file's content, surrounding whitespace stripped; None without a file."""
    if path is None:
        return None
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"--token_file {path}: cannot read it ({error.__class__.__name__})") from None
    if not token:
        raise ConfigError(f"--token_file {path}: the file is empty")
    return token


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


def check_exposure(host: str, token: str | None, insecure: bool) -> None:
    """A server reachable from other machines needs a token, unless the user says otherwise."""
    if not is_loopback(host) and token is None and not insecure:
        raise ConfigError(f"--host {host}: other machines could reach this server; give --token_file F "
                          "(clients then send Authorization: Bearer <token>), or --insecure to serve without one")
