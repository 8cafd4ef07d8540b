"""`unet run --tracking_uri` on a local sqlite MLflow store, read back with MLflow's own client:
a tiny train_and_eval with a validation part and calibration, resumed into the same MLflow run,
then exported into it. (A remote tracking server was not run here.)"""

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import tiny_params, unet_in_process

mlflow = pytest.importorskip("mlflow", reason='MLflow is not installed: pip install "unet-defects[track]"')

pytestmark = pytest.mark.slow


def steps(client, run_id: str, name: str) -> list[int]:
    return [metric.step for metric in client.get_metric_history(run_id, name)]


def artifacts(client, run_id: str, folder: str = "") -> set[str]:
    return {item.path for item in client.list_artifacts(run_id, folder or None)}


@pytest.fixture(scope="module")
def tracked(tiny_dagm, tmp_path_factory):
    """A model_dir trained to step 4 with tracking on, its params file and its store's URI."""
    root = tmp_path_factory.mktemp("tracked")
    params = tiny_params(tiny_dagm, root / "model", calibrate=True)
    params["train_input"]["validation_split"] = 0.25
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = unet_in_process("run", "-p", str(path), "--mode", "train_and_eval", "--tracking_uri", uri)
    assert result.returncode == 0, result.stderr
    return root, path, uri


def test_a_run_logs_its_parameters_losses_scores_by_split_machine_and_files(tracked):
    root, _, uri = tracked
    record = json.loads((root / "model" / "mlflow_run.json").read_text())
    assert record["tracking_uri"] == uri
    client = mlflow.MlflowClient(uri)
    run = client.get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "model"
    params = run.data.params
    assert params["train_input.train_batch_size"] == "4" and params["runconfig.max_steps"] == "4"
    assert params["train_input.image_shape"] == "[32, 32, 1]" and params["train_input.validation_split"] == "0.25"
    assert "runconfig.tracking_uri" not in params
    assert run.data.tags["machine.cpu"].endswith(("yes", "no")) and "cores;" in run.data.tags["machine.cpu"]
    assert "machine.gpus" in run.data.tags
    assert steps(client, run.info.run_id, "train/loss") == [2, 4]  # log_step_count_steps 2
    rates = client.get_metric_history(run.info.run_id, "train/learning_rate")
    assert [metric.value for metric in rates] == pytest.approx([1e-3, 1e-3])
    assert steps(client, run.info.run_id, "validation/defect_Dice") == [2, 4]  # each checkpoint's evaluation
    assert steps(client, run.info.run_id, "final_validation/defect_Dice") == [4]  # at the calibrated decision
    assert steps(client, run.info.run_id, "test/defect_Dice") == [4]  # the test images, scored once at the end
    assert not client.get_metric_history(run.info.run_id, "eval/defect_Dice")
    assert {"params.yaml", "results.json", "calibration.json", "report.png"} <= artifacts(client, run.info.run_id)
    assert (root / "mlartifacts").is_dir()  # beside the store, not in the current folder


def test_a_resumed_run_continues_its_mlflow_run_and_an_export_joins_it(tracked, tmp_path):
    root, path, uri = tracked
    first = json.loads((root / "model" / "mlflow_run.json").read_text())["run_id"]
    client = mlflow.MlflowClient(uri)
    client.set_terminated(first, "KILLED")  # as a run stopped by a signal ends
    more = unet_in_process("run", "-p", str(path), "--mode", "train", "--max_steps", "6", "--tracking_uri", uri)
    assert more.returncode == 0, more.stderr
    assert json.loads((root / "model" / "mlflow_run.json").read_text())["run_id"] == first
    run = client.get_run(first)
    assert run.info.status == "FINISHED"
    assert steps(client, first, "train/loss") == [2, 4, 6]
    assert run.data.params["runconfig.max_steps"] == "4" and run.data.tags["changed.runconfig.max_steps"] == "4 -> 6"
    assert len(client.search_runs([run.info.experiment_id])) == 1

    client.set_terminated(first, "FAILED")  # a training that failed after its last checkpoint
    exported = tmp_path / "line"  # the model_dir's params.yaml names the store now
    result = unet_in_process("export", "--model_dir", str(root / "model"), "--output", str(exported))
    assert result.returncode == 0, result.stderr
    assert "export/line/saved_model.pb" in artifacts(client, first, "export/line")
    assert "export/line/unet_export.json" in artifacts(client, first, "export/line")
    assert client.get_run(first).info.status == "FAILED"  # the export added its folder, nothing else

    elsewhere = f"sqlite:///{tmp_path / 'other.db'}"  # an export into another store: a run there
    result = unet_in_process("export", "--model_dir", str(root / "model"), "--output", str(tmp_path / "line2"),
                             "--tracking_uri", elsewhere)
    assert result.returncode == 0, result.stderr
    assert json.loads((root / "model" / "mlflow_run.json").read_text())["run_id"] == first  # still the model_dir's


def test_a_folder_store_is_one_line_saying_to_use_sqlite(tiny_dagm, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(tiny_params(tiny_dagm, tmp_path / "model")))
    folder = Path(tmp_path / "mlruns").as_uri()
    result = unet_in_process("run", "-p", str(params), "--mode", "train", "--tracking_uri", folder)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("unet: error: ")]
    assert errors == [f"unet: error: runconfig.tracking_uri: {folder}: MLflow no longer takes a folder as its store; "
                      f"use a local database such as sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}, or a tracking "
                      "server (http://HOST:5000)"]
    assert not (tmp_path / "mlruns").exists()
