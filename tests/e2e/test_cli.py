"""The `unet` command as a user types it, on a tiny generated dataset."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import tiny_params, unet_in_process

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def unet_process(*args: str) -> subprocess.CompletedProcess:
    """`unet ARGS` in a process of its own, as a user starts it."""
    return subprocess.run(
        [sys.executable, "-m", "unet_defects.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


# Most calls run in this process; the real processes are unet_process.
unet = unet_in_process


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params))
    return path


def one_line_error(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("unet: error: ")]
    assert len(errors) == 1, result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def trained_dir(tiny_dagm, tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    params = write_params(root / "params.yaml", tiny_params(tiny_dagm, root / "model"))
    result = unet("run", "--params", str(params), "--mode", "train")  # the demo test starts `unet run` as a process
    assert result.returncode == 0, result.stderr
    return root, params


def test_train_writes_params_checkpoints_and_resumes(trained_dir):
    root, params = trained_dir
    model = root / "model"
    assert yaml.safe_load((model / "params.yaml").read_text())["runconfig"]["max_steps"] == 4
    assert (model / "model.ckpt-4.index").is_file()
    again = unet("run", "--params", str(params), "--mode", "train")
    assert again.returncode == 0 and "nothing to train" in again.stderr
    more = unet("run", "--params", str(params), "--mode", "train", "--max_steps", "6")
    assert more.returncode == 0, more.stderr
    assert "training from step 4 to step 6" in more.stderr
    assert (model / "model.ckpt-6.index").is_file()


def test_params_yaml_holds_configuration_only_so_rerunning_it_trains_nothing_more(tiny_dagm, tmp_path):
    params = write_params(tmp_path / "params.yaml", tiny_params(tiny_dagm, tmp_path / "model"))
    first = unet("run", "--params", str(params), "--mode", "train", "--steps", "3")
    assert first.returncode == 0, first.stderr
    saved = tmp_path / "model" / "params.yaml"
    runconfig = yaml.safe_load(saved.read_text())["runconfig"]
    assert runconfig["max_steps"] == 4 and not {"steps", "mode", "checkpoint_path", "device"} & set(runconfig)
    again = unet("run", "-p", str(saved))
    assert again.returncode == 0 and "training from step 3 to step 4" in again.stderr
    once_more = unet("run", "-p", str(saved))
    assert once_more.returncode == 0 and "nothing to train" in once_more.stderr
    assert "training from step" not in once_more.stderr


def test_validate_only_names_every_file_that_cannot_be_used_one_line_each(tmp_path):
    from unet_defects.adapters.images import write_png

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        (tmp_path / "data" / split / "images").mkdir(parents=True)
        (tmp_path / "data" / split / "masks").mkdir()
        for index in range(3):
            write_png(tmp_path / "data" / split / "images" / f"{split}{index}.png",
                      rng.integers(0, 256, (30, 40), dtype=np.uint8))
    (tmp_path / "data" / "train" / "images" / "train1.png").write_bytes(b"not a png")
    (tmp_path / "data" / "test" / "images" / "test2.png").write_bytes(b"")
    write_png(tmp_path / "data" / "test" / "masks" / "test0.png", np.zeros((10, 10), np.uint8))
    params = tiny_params(tmp_path / "data", tmp_path / "m")
    params["train_input"].update({"dataset": "ImageFolderDataset", "image_shape": [16, 16, 1], "image_fit": "crop"})
    result = unet("run", "--params", str(write_params(tmp_path / "p.yaml", params)), "--validate_only")
    assert result.returncode == 2, result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("unet: ")]
    assert [line.split(": ", 2)[1].rsplit("/", 1)[-1] for line in problems] == ["train1.png", "test0.png",
                                                                                "test2.png"]
    assert "cannot read image" in problems[0] and "mask is 10x10 but its image is 40x30" in problems[1]
    assert not list((tmp_path / "m").glob("model.ckpt-*"))
    training = unet("run", "--params", str(tmp_path / "p.yaml"), "--mode", "train")  # the same, as one line
    line = one_line_error(training)
    assert "train1.png: cannot read image" in line


def test_eval_prints_scores_and_writes_results(trained_dir):
    root, params = trained_dir
    result = subprocess.run(
        [sys.executable, "-m", "unet_defects.run", "--params", str(params), "--mode", "eval"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    for name in ("mIOU", "DSC", "MPCA", "Acc", "defect_IoU", "defect_Dice", "per_image_Dice"):
        assert name in result.stdout
    saved = json.loads((root / "model" / "eval" / "results.json").read_text())
    assert saved["num_images"] == 5 and 0.0 <= saved["mIOU"] <= 1.0


def test_predict_writes_masks_and_reports_unreadable_files(trained_dir, tiny_dagm, tmp_path):
    root, _ = trained_dir
    inputs = tmp_path / "in"
    shutil.copytree(tiny_dagm / "Class1" / "Test", inputs, ignore=shutil.ignore_patterns("Label"))
    result = unet("predict", "--model_dir", str(root / "model"), "--input", str(inputs), "--output", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted([f"{p.stem}_{kind}.png" for p in inputs.glob("*.PNG") for kind in ("mask", "overlay")]
                             + ["predictions.jsonl"])
    lines = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert sorted(Path(line["file"]).name for line in lines) == sorted(p.name for p in inputs.glob("*.PNG"))
    assert all({"defective", "score", "defects", "threshold", "min_area"} <= set(line) for line in lines)
    with_extras = unet("predict", "--model_dir", str(root / "model"), "--input", str(inputs), "--output",
                       str(tmp_path / "extras"), "--probabilities", "--rle-csv", str(tmp_path / "sub.csv"))
    assert with_extras.returncode == 0, with_extras.stderr
    rows = (tmp_path / "sub.csv").read_text().splitlines()
    assert rows[0] == "ImageId,ClassId,EncodedPixels" and len(rows) == 6
    import imageio.v3 as iio

    from unet_defects.domain import rle

    for row in rows[1:]:
        image_id, class_id, encoded = row.split(",")
        stem = image_id.rsplit(".", 1)[0]
        mask = iio.imread(tmp_path / "extras" / f"{stem}_mask.png") > 0
        np.testing.assert_array_equal(rle.decode(encoded, mask.shape), mask)  # round trip
        probability = iio.imread(tmp_path / "extras" / f"{stem}_probability.png")
        assert probability.dtype == np.uint16
        # Re-thresholding the 16-bit probabilities gives the mask, but within 1/65535 of 0.5.
        near_half = np.abs(probability / 65535.0 - 0.5) <= 1 / 65535
        assert not ((probability > 32767.5) != mask)[~near_half].any()
        assert class_id == "1"
    (inputs / "broken.png").write_bytes(b"not an image")
    partial = unet("predict", "--model_dir", str(root / "model"), "--input", str(inputs), "--output", str(tmp_path / "out2"))
    assert partial.returncode == 1
    assert "broken.png" in partial.stderr and "Traceback" not in partial.stderr
    assert len(list((tmp_path / "out2").glob("*_mask.png"))) == 5


def test_an_output_that_is_a_file_and_an_image_shape_past_memory_are_one_line_each(trained_dir, tiny_dagm, tmp_path):
    root, params = trained_dir
    taken = tmp_path / "taken"
    taken.write_text("a file")
    error = one_line_error(unet("predict", "--model_dir", str(root / "model"), "--input",
                                str(tiny_dagm / "Class1" / "Test"), "--output", str(taken)))
    assert error == f"unet: error: {taken}: exists and is not a folder; name a folder for --output"
    error = one_line_error(unet("run", "--params", str(params), "--model_dir", str(tmp_path / "huge"),
                                "--set", "train_input.image_shape=[60000,60000,1]"))
    assert "train_input.image_shape: 60000x60000" in error and "more than this machine's" in error
    assert not (tmp_path / "huge").exists()


def test_predict_at_native_resolution_tiles_a_wide_image_and_report_draws_the_run(trained_dir, tmp_path):
    import imageio.v3 as iio

    from unet_defects.adapters.images import write_png

    root, params = trained_dir
    model = str(root / "model")
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_png(inputs / "wide.png", np.random.default_rng(1).integers(0, 256, (50, 200), dtype=np.uint8))
    result = unet("predict", "--model_dir", model, "--input", str(inputs), "--output", str(tmp_path / "out"),
                  "--geometry", "native", "--tile", "32x32", "--tile_overlap", "8")
    assert result.returncode == 0, result.stderr
    assert "tiles of 32x32 overlapping by 8 pixels" in result.stderr
    assert iio.imread(tmp_path / "out" / "wide_mask.png").shape == (50, 200)
    bad = unet("predict", "--model_dir", model, "--input", str(inputs), "--output", str(tmp_path / "o"),
               "--geometry", "native", "--tile", "33x32")
    assert bad.returncode == 2 and "predict.tile: 33 is not a multiple" in bad.stderr
    assert unet("run", "--params", str(params), "--mode", "eval").returncode == 0
    report = unet("report", "--model_dir", model)
    assert report.returncode == 0, report.stderr
    assert f"wrote {model}/report.png (training loss; evaluation scores" in report.stdout
    assert iio.imread(root / "model" / "report.png").shape[2] in (3, 4)
    table = (root / "model" / "eval" / "results.csv").read_text().splitlines()  # the eval's row, written by it
    assert f"wrote {model}/eval/results.csv (one row per evaluation" in report.stdout
    assert table[0].startswith("step,split,num_images,checkpoint,") and len(table) >= 2


def test_a_bad_yaml_key_is_one_line_naming_the_key(tiny_dagm, tmp_path):
    params = tiny_params(tiny_dagm, tmp_path / "m")
    params["train_input"]["shufle"] = True
    line = one_line_error(unet("run", "--params", str(write_params(tmp_path / "p.yaml", params))))
    assert "train_input.shufle: unknown key; did you mean 'train_input.shuffle'?" in line


@pytest.mark.parametrize(
    "breakage, expected",
    [
        ("missing_dataset", "dataset_path does not exist"),
        ("missing_image", "0008.PNG is listed but"),
        ("unreadable_image", "0008.PNG: cannot read image"),
    ],
)
def test_data_errors_are_one_line_naming_the_file(tiny_dagm, tmp_path, breakage, expected):
    data = tmp_path / "data"
    shutil.copytree(tiny_dagm, data)
    if breakage == "missing_dataset":
        shutil.rmtree(data)
    elif breakage == "missing_image":
        (data / "Class1" / "Train" / "0008.PNG").unlink()
    else:
        (data / "Class1" / "Train" / "0008.PNG").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    params = write_params(tmp_path / "p.yaml", tiny_params(data, tmp_path / "m"))
    line = one_line_error(unet("run", "--params", str(params), "--mode", "train"))
    assert expected in line


def test_conflicting_compile_flags_say_so_in_one_line(tiny_dagm, tmp_path):
    params = write_params(tmp_path / "p.yaml", tiny_params(tiny_dagm, tmp_path / "m"))
    conflict = one_line_error(unet("run", "--params", str(params), "--validate_only", "--compile_only"))
    assert "cannot be combined" in conflict
    assert "only allowed with mode train" in one_line_error(
        unet("run", "--params", str(params), "--mode", "eval", "--compile_only")
    )


def test_synth_writes_a_dagm_layout(tmp_path):
    result = unet("synth", "dagm", "--output", str(tmp_path / "d"), "--class_ids", "2", "--train_images", "3",
                  "--test_images", "2", "--image_size", "32")
    assert result.returncode == 0, result.stderr
    labels = (tmp_path / "d" / "Class2" / "Train" / "Label" / "Labels.txt").read_bytes()
    assert labels.startswith(b"1\r\n") and labels.count(b"\r\n") == 4


@pytest.mark.parametrize("mode, extra", [
    ("train_benchmark", []),
    ("inference_benchmark", []),
    ("train_benchmark", ["--with_input_pipeline"]),
])
def test_benchmark_modes_print_one_valid_json_line(tiny_dagm, tmp_path, mode, extra):
    params = write_params(tmp_path / "p.yaml", tiny_params(tiny_dagm, tmp_path / "m"))
    result = unet("run", "--params", str(params), "--mode", mode, "--steps", "3", "--warmup_steps", "1", *extra)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["mode"] == mode and report["steps"] == 3 and report["warmup_steps"] == 1
    assert report["images_per_second"] > 0 and report["step_time_p90_s"] >= report["step_time_median_s"] > 0
    assert report["input_pipeline"] is bool(extra) and report["device"] in ("CPU", "GPU")
    assert report["batch_size"] == (4 if mode == "train_benchmark" else 3)
    assert not list((tmp_path / "m").glob("*.index"))  # benchmarks write no checkpoints


def test_export_writes_a_savedmodel(trained_dir, tmp_path):
    root, _ = trained_dir
    result = unet("export", "--model_dir", str(root / "model"), "--output", str(tmp_path / "exported"))
    assert result.returncode == 0, result.stderr
    assert "signatures serving_default and network" in result.stdout
    assert (tmp_path / "exported" / "saved_model.pb").is_file()
    manifest = json.loads((tmp_path / "exported" / "unet_export.json").read_text())
    assert manifest["threshold"] == 0.5 and manifest["input_size"] == [32, 32]


def test_synth_severstal_then_train_on_crops_and_evaluate_whole_images(tmp_path):
    data = tmp_path / "severstal"
    made = unet("synth", "severstal", "--output", str(data), "--images", "12", "--seed", "3")
    assert made.returncode == 0, made.stderr
    assert (data / "train.csv").read_text().startswith("ImageId,ClassId,EncodedPixels\n")
    params = {
        "train_input": {"dataset": "SeverstalDataset", "dataset_path": str(data), "class_id": 3,
                        "image_shape": [64, 64, 1], "image_fit": "crop", "include_defect_free": True,
                        "train_batch_size": 2, "eval_batch_size": 2, "normalize_data_method": "zero_centered",
                        "train_test_split": 0.75, "seed": 1},
        "model": {"encoder_filters": [4, 8], "decoder_filters": [4], "data_format": "channels_last"},
        "runconfig": {"model_dir": str(tmp_path / "m"), "max_steps": 2, "save_checkpoints_steps": 2},
    }
    path = write_params(tmp_path / "params.yaml", params)
    result = unet("run", "--params", str(path), "--mode", "train_and_eval")
    assert result.returncode == 0, result.stderr
    saved = json.loads((tmp_path / "m" / "eval" / "results.json").read_text())
    rows = [line.split(",") for line in (data / "train.csv").read_text().splitlines()[1:]]
    usable = {r[0] for r in rows if r[1] == "3"} | ({p.name for p in (data / "train_images").iterdir()}
                                                    - {r[0] for r in rows})
    assert saved["num_images"] == len(usable) - round(0.75 * len(usable))  # held out, each whole at 1600x256
    sample = next((tmp_path / "m" / "eval" / "samples").glob("*.png"))
    import imageio.v3 as iio

    assert iio.imread(sample).shape[0] == 256


def test_write_tfrecords_then_train_from_them(tiny_dagm, tmp_path):
    params = write_params(tmp_path / "params.yaml", tiny_params(tiny_dagm, tmp_path / "m"))
    result = unet("write-tfrecords", "--params", str(params), "--output_directory", str(tmp_path / "rec"),
                  "--images_per_file", "5")
    assert result.returncode == 0, result.stderr
    assert "wrote 12 train and 5 test records in 4 files" in result.stdout
    converted = tiny_params(tmp_path / "rec", tmp_path / "m2", max_steps=2)
    converted["train_input"]["dataset"] = "DAGM2007TFRecordsDataset"
    trained = unet("run", "--params", str(write_params(tmp_path / "p2.yaml", converted)), "--mode", "train_and_eval")
    assert trained.returncode == 0, trained.stderr
    assert json.loads((tmp_path / "m2" / "eval" / "results.json").read_text())["num_images"] == 5
    empty = unet("write-tfrecords", "--params", str(params), "--output_directory", str(tmp_path / "r2"),
                 "--images_per_file", "0")
    assert empty.returncode == 2 and "--images_per_file: must be >= 1" in empty.stderr


def test_validate_only_and_compile_only_run_nothing(trained_dir, tmp_path):
    _, params = trained_dir
    model_dir = tmp_path / "m"
    validated = unet("run", "--params", str(params), "--mode", "train", "--validate_only", "--model_dir", str(model_dir))
    assert validated.returncode == 0, validated.stderr
    assert "validated: the training step traces" in validated.stdout and "parameters " in validated.stdout
    assert not list(model_dir.glob("model.ckpt-*"))
    compiled = unet_process("run", "--params", str(params), "--mode", "compile_only", "--model_dir", str(model_dir))
    assert compiled.returncode == 0, compiled.stderr
    report = json.loads((model_dir / "compile" / "compile_report.json").read_text())
    assert report["hlo_instructions"] > 0 and (model_dir / "compile" / "train_step.optimized_hlo.txt").is_file()
    assert not list(model_dir.glob("model.ckpt-*"))
    wrong = unet("run", "--params", str(params), "--mode", "eval", "--validate_only")
    assert wrong.returncode == 2 and "only allowed with mode train" in wrong.stderr
    # In a process where a seeded run turned op determinism on, XLA cannot compile: one line.
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    refused = one_line_error(unet("run", "--params", str(params), "--mode", "compile_only",
                                  "--model_dir", str(tmp_path / "m2")))
    assert "op determinism is on in this process" in refused
