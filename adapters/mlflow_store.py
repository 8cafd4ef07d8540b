"""The MLflow side of MlflowTracker, in a helper process of its own:

    python -m unet_defects.adapters.mlflow_store     # started by MlflowTracker, one per tracked command

It reads the tracker's calls as JSON lines on stdin and makes them with MLflow's client, so
MLflow's import (about 1.5 s of Python), a store's set-up (about 1 s for sqlite) and a server's
round trips never take the training process's interpreter lock. It answers on stdout, a JSON
line each: the run's id once open, the status once closed, or the first failure in words (the
calls after it are then dropped). The model_dir records its run in mlflow_run.json, so a
resumed call continues that run.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from unet_defects.adapters.atomic_files import write_text
from unet_defects.domain.tracking_names import param_changes, tracking_key

RECORD_FILE = "mlflow_run.json"
# The MLflow experiment runs go to, unless MLFLOW_EXPERIMENT_NAME names another.
EXPERIMENT = "unet-defects"
ARTIFACTS_FOLDER = "mlartifacts"  # beside a local sqlite store's file
BATCH = 100  # MLflow takes at most 100 parameters or tags in one request


def is_file_store(uri: str) -> bool:
    """A folder (`file:` or a plain path): MLflow 3 refuses it as a tracking store by default."""
    return urlparse(uri).scheme in ("", "file")


def sqlite_instead(uri: str) -> str:
    """The local sqlite store to use instead of a file store at `uri`."""
    folder = urlparse(uri).path if uri.startswith("file:") else uri
    return f"sqlite:///{Path(folder or '.') / 'mlflow.db'}"


def local_artifacts(uri: str) -> str | None:
    """Where a local sqlite store's runs keep their files: beside the database, not in the
    current folder (MLflow's default, ./mlruns). None for a server, which decides itself."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri[len("sqlite:///"):]).absolute().parent / ARTIFACTS_FOLDER).as_uri()


def first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def refusal(uri: str, error: Exception) -> str:
    """Why the store at `uri` cannot be opened, in one line saying what to use."""
    if is_file_store(uri):
        return (f"runconfig.tracking_uri: {uri}: MLflow no longer takes a folder as its store; use a local "
                f"database such as {sqlite_instead(uri)}, or a tracking server (http://HOST:5000)")
    return f"runconfig.tracking_uri: {uri}: {first_line(error)}"


def read_record(model_dir: str | Path) -> dict:
    """The run the model_dir recorded ({} when none, or unreadable: a new run is then started)."""
    try:
        record = json.loads((Path(model_dir) / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


class MlflowRun:
    """One model_dir's run in the store at `uri`: opened (continued, or created and recorded),
    then given metrics and files, then ended."""

    def __init__(self, uri: str, model_dir: str, run_name: str) -> None:
        self.uri = uri
        self._model_dir = Path(model_dir)
        self._run_name = run_name
        self._client: Any = None
        self.run_id = ""
        self._keeps_status = False

    def open(self, params: dict[str, str], keeps_status: bool = False) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Param, RunTag

        for name in ("mlflow", "alembic"):  # the store's set-up chatter (tables created, migrations)
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            client = MlflowClient(tracking_uri=self.uri)
            record = read_record(self._model_dir)
            run = self._continued(client, record, keeps_status) if record.get("tracking_uri") == self.uri else None
            if run is None:
                run = client.create_run(self._experiment_id(client), run_name=self._run_name,
                                        tags={"unet.model_dir": str(self._model_dir.absolute())})
        except Exception as error:  # whatever MLflow says of this URI, as one line with what to use
            raise OpenFailed(refusal(self.uri, error)) from None
        self._keeps_status = keeps_status
        # The model_dir's run, unless it already has one elsewhere (an export to another store).
        if run.info.run_id != record.get("run_id") and record.get("tracking_uri", self.uri) == self.uri:
            self._model_dir.mkdir(parents=True, exist_ok=True)  # a first call may get here before the trainer
            write_text(self._model_dir / RECORD_FILE, json.dumps(
                {"tracking_uri": self.uri, "run_id": run.info.run_id, "experiment_id": run.info.experiment_id},
                indent=2) + "\n", durable=True)
        self._client, self.run_id = client, run.info.run_id
        new, changed = param_changes(run.data.params, params)
        items = [Param(key, value) for key, value in new.items()]
        labels = [RunTag(tracking_key(f"changed.{key}"), text) for key, text in changed.items()]
        for at in range(0, max(len(items), len(labels)), BATCH):
            client.log_batch(self.run_id, params=items[at:at + BATCH], tags=labels[at:at + BATCH], synchronous=True)

    def _continued(self, client: Any, record: dict, keeps_status: bool) -> Any:
        """The model_dir's recorded run, running again (unless `keeps_status`); None when the
        store no longer has it."""
        from mlflow.exceptions import MlflowException

        try:
            run = client.get_run(str(record.get("run_id")))
        except MlflowException:
            return None
        if run.info.lifecycle_stage != "active":  # deleted in the store: start afresh
            return None
        if not keeps_status:
            client.update_run(run.info.run_id, status="RUNNING")
        return run

    def _experiment_id(self, client: Any) -> str:
        from mlflow.exceptions import MlflowException

        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
        found = client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return client.create_experiment(name, artifact_location=local_artifacts(self.uri))
        except MlflowException:  # another process created it meanwhile
            return client.get_experiment_by_name(name).experiment_id

    def metrics(self, step: int, values: dict[str, float], timestamp: int) -> None:
        from mlflow.entities import Metric

        self._client.log_batch(self.run_id, metrics=[Metric(key, value, timestamp, step) for key, value in values.items()],
                               synchronous=True)  # even with MLFLOW_ENABLE_ASYNC_LOGGING: nothing is left queued at exit

    def files(self, paths: list[str], folder: str) -> None:
        for path in map(Path, paths):
            if path.is_dir():
                self._client.log_artifacts(self.run_id, str(path), "/".join(filter(None, (folder, path.name))))
            elif path.is_file():
                self._client.log_artifact(self.run_id, str(path), folder or None)

    def close(self, status: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self._client.set_tag(self.run_id, key, value, synchronous=True)
        if not self._keeps_status:
            self._client.set_terminated(self.run_id, status)


class OpenFailed(Exception):
    """The store refused or could not be reached: the message is the one line to show."""


def serve(lines, answer) -> None:
    """Make each call of `lines` (JSON: {"open": {...}}, then "metrics", "files", "close") on
    one run; `answer` gets {"run": id} once open and {"closed": status} once closed, or
    {"failure": line} once, after which the rest is dropped."""
    run: MlflowRun | None = None
    failed = False
    for line in lines:
        ((call, arguments),) = json.loads(line).items()
        if failed:
            continue
        try:
            if call == "open":
                run = MlflowRun(arguments.pop("uri"), arguments.pop("model_dir"), arguments.pop("run_name"))
                run.open(**arguments)
                answer({"run": run.run_id})
            elif run is not None:
                getattr(run, call)(**arguments)
                if call == "close":  # the tracker waits for this, not for this process's exit
                    answer({"closed": arguments["status"]})
        except OpenFailed as error:
            failed = True
            answer({"failure": str(error)})
        except Exception as error:  # the store went away, refused a value, ...: one line, then nothing more
            failed = True
            answer({"failure": f"MLflow at {run.uri if run else '?'}: {first_line(error)}"})


def main() -> None:
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # whatever MLflow prints goes to stderr, not into the answers
    sys.stdout = sys.stderr

    def answer(message: dict) -> None:
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    serve(sys.stdin, answer)
    answers.close()
    # Every call was made synchronously: skip MLflow's own teardown (about a second of CPU, while
    # the training process ends beside it).
    os._exit(0)


if __name__ == "__main__":
    main()
