"""MlflowTracker: the RunTracker port on MLflow (the [track] extra), made only when
runconfig.tracking_uri is set.

MLflow itself runs in a helper process (adapters/mlflow_store.py) that this tracker feeds its
calls to, in order, as JSON lines: MLflow's import and a store's set-up (2 to 3 s of Python)
then overlap the training's start-up on another core instead of competing for this process's
interpreter lock, and a slow server never holds up a training step. The training process never
imports MLflow.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from unet_defects.domain.errors import UnetError

log = logging.getLogger("unet")

MISSING = 'runconfig.tracking_uri: needs MLflow; pip install "unet-defects[track]"'
HELPER = "unet_defects.adapters.mlflow_store"
CLOSE_SECONDS = 120  # the end's files (report.png, an export's folder) sent to a server


class MlflowTracker:
    active = True

    def __init__(self, uri: str, model_dir: str, run_name: str | None = None) -> None:
        self._uri = uri
        self._model_dir = str(model_dir)
        self._run_name = run_name or Path(model_dir).absolute().name
        self._helper: subprocess.Popen | None = None
        self._failure: str | None = None
        self._raised = False  # the failure was raised to the caller: end does not repeat it
        self._run_id = ""
        self._closed = threading.Event()  # the helper answered the close, or ended
        self._closed_as = ""

    def start(self, params: Mapping[str, str], keeps_status: bool = False) -> None:
        if importlib.util.find_spec("mlflow") is None:
            raise UnetError(MISSING)
        # A session of its own: the terminal's Ctrl-C reaches the trainer, which then ends the run KILLED.
        self._helper = subprocess.Popen([sys.executable, "-m", HELPER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, start_new_session=True)
        threading.Thread(target=self._read, args=(self._helper,), name="mlflow-answers", daemon=True).start()
        self._send("open", uri=self._uri, model_dir=self._model_dir, run_name=self._run_name, params=dict(params),
                   keeps_status=keeps_status)

    def log_metrics(self, step: int, metrics: Mapping[str, float]) -> None:
        if self._failure is not None:
            self._raised = True
            raise UnetError(self._failure)
        self._send("metrics", step=step, values=dict(metrics), timestamp=int(time.time() * 1000))

    def log_files(self, paths: Sequence[str], folder: str = "") -> None:
        self._send("files", paths=[str(Path(path).absolute()) for path in paths], folder=folder)

    def end(self, status: str = "FINISHED", tags: Mapping[str, str] | None = None) -> None:
        helper = self._helper
        if helper is None:
            return
        self._send("close", status=status, tags=dict(tags or {}))
        if helper.stdin is not None:
            helper.stdin.close()
        # Not the helper's exit (MLflow's own shutdown takes most of a second): _read reaps it. A
        # server that hangs does not hang the command: the run is then left as it is.
        if not self._closed.wait(CLOSE_SECONDS):
            self._failure = self._failure or f"MLflow at {self._uri}: no answer in {CLOSE_SECONDS} s at the run's end"
            helper.kill()
        self._helper = None
        if self._failure is None and self._closed_as != status:
            self._failure = f"MLflow at {self._uri}: the tracking process ended before the run did"
        if self._failure is None:
            log.info("logged to MLflow at %s, run %s", self._uri, self._run_id)
        elif not self._raised:
            if status == "FINISHED":
                raise UnetError(self._failure)
            log.warning("warning: %s", self._failure)

    def _send(self, call: str, **arguments: Any) -> None:
        helper = self._helper
        if helper is None or helper.stdin is None:  # before start: not a tracked run (see RunTracker)
            return
        try:
            helper.stdin.write(json.dumps({call: arguments}) + "\n")
            helper.stdin.flush()
        except OSError:  # it ended: end() says why
            pass

    def _read(self, helper: subprocess.Popen) -> None:
        """The helper's answers (the run's id, the close, or the first failure in one line) until
        it ends, which it is then waited for."""
        for line in helper.stdout or ():
            try:
                answer = json.loads(line)
            except ValueError:
                continue
            self._run_id = answer.get("run", self._run_id)
            self._failure = self._failure or answer.get("failure")
            if "closed" in answer:
                self._closed_as = answer["closed"]
                self._closed.set()
        self._closed.set()
        if helper.stdout is not None:
            helper.stdout.close()
        helper.wait()
