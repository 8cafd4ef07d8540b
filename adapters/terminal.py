"""Training progress for people: a progress bar on a terminal, log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from unet_defects.domain.durations import format_duration, projected_seconds

log = logging.getLogger("unet")


def _bar(done: int, total: int, width: int = 28) -> str:
    filled = int(width * done / total) if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


class TerminalObserver:
    """Reports training: a live bar when `stream` is a terminal, plus a log line every
    `log_step_count_steps` steps (loss and images/s) wherever the output goes."""

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None) -> None:
        self._stream = stream or sys.stderr
        self._interactive = self._stream.isatty() if interactive is None else interactive
        self._start = 0
        self._target = 0
        self._began = 0.0
        self._wall_began = 0.0
        self._budget: float | None = None

    def started(self, start_step: int, target_step: int, time_budget: float | None = None) -> None:
        self._start, self._target, self._budget = start_step, target_step, time_budget
        self._began, self._wall_began = time.perf_counter(), time.time()
        budget = f" or for {format_duration(time_budget)} (runconfig.time_budget), whichever comes first" \
            if time_budget else ""
        log.info("training from step %d to step %d%s", start_step, target_step, budget)

    def progressed(self, step: int, loss: float, images_per_second: float, log_line: bool) -> None:
        if self._interactive:
            done, total = step - self._start, self._target - self._start
            elapsed = time.perf_counter() - self._began
            eta = elapsed / done * (total - done) if done else 0.0
            self._stream.write(
                f"\r{_bar(done, total)} step {step}/{self._target} loss {loss:.4f} "
                f"{images_per_second:.1f} img/s eta {eta:.0f}s "
            )
            self._stream.flush()
        if log_line:
            self._clear_line()
            log.info("step %d: loss %.4f, %.1f images/s, %s", step, loss, images_per_second, self._projection(step))

    def _projection(self, step: int) -> str:
        """When training will end at the pace so far (evaluations included), and what ends it."""
        seconds, reason = projected_seconds(time.perf_counter() - self._began, step - self._start,
                                            self._target - step, self._budget)
        if seconds == float("inf"):
            return "end not projected yet"
        at = time.strftime("%H:%M", time.localtime(self._wall_began + seconds))
        return f"projected end {at} ({'time budget' if reason == 'time_budget' else f'step {self._target}'})"

    def checkpointed(self, step: int, path: str) -> None:
        self._clear_line()
        # a short run may log no step line: each checkpoint says when the run will end, too
        log.info("checkpoint saved: %s (%s)", path, self._projection(step))

    def finished(self, outcome) -> None:
        self._clear_line()
        log.info(
            "trained steps %d..%d in %.1fs (last loss %.4f)",
            outcome.start_step, outcome.final_step, outcome.seconds, outcome.last_loss or float("nan"),
        )

    def message(self, text: str) -> None:
        self._clear_line()
        log.info("%s", text)

    def _clear_line(self) -> None:
        if self._interactive:
            self._stream.write("\r\033[K")
            self._stream.flush()
