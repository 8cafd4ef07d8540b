"""The `unet` command line: its subcommands and flags (the reference's run.py flags for `run`)."""

from __future__ import annotations

import argparse

from unet_defects.adapters.annotation_exports.proposals import ANNOTATION_FORMATS
from unet_defects.adapters.runtimes.catalog import ALL_EXPORT_FORMATS, ENGINE_NAMES
from unet_defects.argument_types import number_list, positive_int, tile_size
from unet_defects.domain.tiling import GEOMETRIES
from unet_defects.domain.training import MODES
from unet_defects.domain.tta import TTA_MODES
from unet_defects.reviewing import add_review_parser


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The reference's run.py flags, plus --set and --debug."""
    parser.add_argument("-p", "--params", help="YAML params file (default: the built-in demo preset)")
    parser.add_argument("-o", "--model_dir", help="checkpoints, summaries and results; training resumes here")
    parser.add_argument("-m", "--mode", choices=MODES + ("validate_only", "compile_only"),
                        help="train, eval, eval_all, train_and_eval, train_benchmark or inference_benchmark "
                             "(default: runconfig.mode)")
    parser.add_argument("--steps", type=int, help="train this many more steps in this call")
    parser.add_argument("--max_steps", type=int, help="train until this global step")
    parser.add_argument("--time_budget", metavar="DURATION",
                        help="stop training after this long (30m, 1h30m, 90s), checkpoint and evaluate; "
                             "max_steps still ends it first (runconfig.time_budget)")
    parser.add_argument("--tracking_uri", metavar="URI",
                        help="log the run to MLflow: a server (http://HOST:5000) or sqlite:///FOLDER/mlflow.db; "
                             "a resumed run continues its MLflow run (runconfig.tracking_uri)")
    parser.add_argument("--eval_steps", type=int, help="evaluation batches (<= 0: all images)")
    parser.add_argument("--checkpoint_path", help="checkpoint to evaluate or predict with")
    parser.add_argument("--cs_ip", help="Cerebras system address")
    parser.add_argument("--device", help="force a device, e.g. /gpu:0 or /cpu:0")
    parser.add_argument("--warmup_steps", type=int, help="benchmark modes: steps run before timing starts")
    parser.add_argument("--with_input_pipeline", action="store_true",
                        help="benchmark modes: read the configured dataset instead of in-memory batches")
    parser.add_argument("--validate_only", action="store_true", help="validate the model and pipeline only")
    parser.add_argument("--compile_only", action="store_true", help="compile the training step only")
    add_inference_arguments(parser, "eval and inference_benchmark")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override any config key, e.g. --set train_input.class_id=2 (repeatable)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def add_inference_arguments(parser: argparse.ArgumentParser, where: str) -> None:
    parser.add_argument("--tta", choices=TTA_MODES,
                        help=f"{where}: test-time augmentation, averaging the probabilities of flipped (flip) or "
                             "flipped and turned (d4, square inputs only) copies, or none (default: the model's "
                             "model.inference_tta, else none)")
    parser.add_argument("--engine", choices=ENGINE_NAMES,
                        help=f"{where}: run an export (--model) with this runtime (default: tensorflow)")
    parser.add_argument("--model", metavar="EXPORT_DIR", help=f"{where}: an export made by unet export")


def add_min_area_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min_area", type=int, metavar="PIXELS",
                        help="remove predicted defect components smaller than this (default: calibration.json's, "
                             "else 0)")


def add_tile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tile", type=tile_size, metavar="HxW",
                        help="native geometry: largest piece run at once (default: the training image size)")
    parser.add_argument("--tile_overlap", type=int, metavar="PIXELS",
                        help="native geometry: overlap of neighbouring tiles (default: 1/8 of the tile, <= 32)")


def add_max_pixels_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max_pixels", type=positive_int, metavar="PIXELS",
                        help="refuse an image whose header declares more pixels than this, before decoding it "
                             "(one error line; the other images go on)")


def add_model_dir_config_arguments(parser: argparse.ArgumentParser) -> None:
    """What commands on a trained model_dir share: its config, overrides, tracebacks."""
    parser.add_argument("--params", help="params file (default: <model_dir>/params.yaml)")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--debug", action="store_true")


def add_geometry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--geometry", choices=GEOMETRIES,
                        help="resize: squash each image to the training size (for models trained with "
                             "image_fit: resize); native: keep the pixel scale, pad to the network's stride "
                             "and tile large images (default for image_fit: crop)")


def add_serve_parser(commands) -> None:
    import attrs

    from unet_defects.serving.settings import ServeSettings

    default = {field.name: field.default for field in attrs.fields(ServeSettings)}  # one place for each
    serve = commands.add_parser("serve", help="serve a model over HTTP: Open Inference Protocol v2, uploads, a page")
    serve.add_argument("--model_dir", help="a trained model_dir (or --model with an export)")
    serve.add_argument("--checkpoint_path", help="checkpoint to serve (default: the best kept, else the latest)")
    add_inference_arguments(serve, "serve")
    serve.add_argument("--threshold", type=float, help="defect probability threshold (default: calibration.json, "
                                                        "the export's manifest, else the config's rule)")
    add_min_area_argument(serve)
    add_geometry_arguments(serve)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1: this machine only; another needs --token_file)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free one)")
    flags = [
        ("--name", str, "the model's name in /v2/models/NAME"),
        ("--max_batch", int, "images run together across requests (1: off)"),
        ("--max_delay_ms", float, "longest a short batch waits for more requests while others queue"),
        ("--max_queue", int, "requests waiting before 503"),
        ("--max_body_mb", float, "largest request body in MB"),
        ("--max_pixels", int, "largest image, or batch of images, in pixels"),
        ("--request_timeout_s", float, "longest wait for a body or a result"),
        ("--report_every_s", float, "a traffic line on the terminal this often while busy"),
        ("--drift_window", int, "the last images drift is measured over (0: off)"),
        ("--drift_min_images", int, "images the drift window holds before it judges"),
        ("--drift_bounds", str, "the PSI past which a statistic has drifted: one for all, or NAME=PSI,..."),
    ]
    for flag, kind, text in flags:
        value = default[flag[2:]]
        serve.add_argument(flag, type=kind, default=value, help=f"{text} (default {value})")
    serve.add_argument("--token_file", help="file holding the token clients send as Authorization: Bearer <token>")
    serve.add_argument("--insecure", action="store_true", help="allow a non-loopback --host without a token")
    serve.add_argument("--debug", action="store_true")
    serve.set_defaults(command="serve")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unet", description="UNet defect segmentation (DAGM, Severstal, your own).")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train / evaluate (the reference's run.py)")
    add_run_arguments(run)
    run.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                     help="train on Ray Train: a local Ray with this machine's cores, or the cluster at ADDRESS "
                          "(host:6379); model_dir must be shared storage (docs/distributed.md)")
    run.add_argument("--workers", type=int, metavar="N",
                     help="with --ray: training workers, one CPU (or GPU) each, in one MultiWorkerMirroredStrategy "
                          "cluster (default 1)")
    run.set_defaults(command="run")

    predict = commands.add_parser("predict", help="predict defect masks for images")
    predict.add_argument("--model_dir", help="a trained model_dir (or --model with an export)")
    predict.add_argument("--input", required=True, nargs="+",
                         help="image files, folders, globs ('parts/**/*.png', quoted) or .txt files listing paths")
    predict.add_argument("--output", required=True, help="folder for <stem>_mask.png and <stem>_overlay.png")
    predict.add_argument("--threshold", type=float,
                         help="defect probability threshold (default: <model_dir>/calibration.json, the export's "
                              "manifest, else the config's rule)")
    predict.add_argument("--checkpoint_path", help="checkpoint to use (default: the best kept, else the latest)")
    predict.add_argument("--probabilities", action="store_true",
                         help="also write <stem>_probability.png (16-bit, probability x 65535)")
    predict.add_argument("--rle-csv", dest="rle_csv", metavar="FILE",
                         help="write a Kaggle Severstal submission (ImageId,ClassId,EncodedPixels)")
    predict.add_argument("--class_id", type=int, help="ClassId of the submission rows (default: the config's)")
    add_min_area_argument(predict)
    predict.add_argument("--min_total_area", type=int, default=0,
                         help="submission: leave a row empty when the predicted area is below this many pixels")
    add_inference_arguments(predict, "predict")
    add_geometry_arguments(predict)
    add_tile_arguments(predict)
    add_max_pixels_argument(predict)
    predict.add_argument("--annotations", nargs="+", choices=ANNOTATION_FORMATS, default=[], metavar="FORMAT",
                         help="also write the kept defects for correction in a labelling tool: coco "
                              "(predictions.coco.json, RLE masks, for CVAT) and/or labelme (labelme/: each image and "
                              "its .json of polygons)")
    predict.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                         help="predict on Ray Data: a local Ray with this machine's cores, or the cluster at "
                              "ADDRESS (host:6379, or ray://host:10001); resumable: a rerun on the same --output "
                              "skips the images already written")
    predict.add_argument("--workers", type=int, metavar="N",
                         help="with --ray: how many workers open the model (default: one per CPU of the cluster)")
    add_model_dir_config_arguments(predict)
    predict.set_defaults(command="predict")

    add_review_parser(commands)

    report = commands.add_parser("report", help="draw the training loss and evaluation scores into report.png")
    report.add_argument("--model_dir", required=True)
    report.add_argument("--output", help="picture to write (default: <model_dir>/report.png)")
    add_model_dir_config_arguments(report)
    report.set_defaults(command="report")

    export = commands.add_parser("export", help="export a trained model (SavedModel, ONNX, OpenVINO IR, TFLite)")
    export.add_argument("--model_dir", required=True)
    export.add_argument("--output", required=True, help="folder for the export and its unet_export.json")
    export.add_argument("--format", choices=ALL_EXPORT_FORMATS, default="savedmodel",
                        help="savedmodel (default), onnx, openvino, tflite (fixed input size), or triton: a Triton "
                             "model repository, OUTPUT/NAME/config.pbtxt and 1/model.onnx")
    export.add_argument("--name", default="unet", help="--format triton: the model's name (default unet)")
    export.add_argument("--max_batch", type=int, default=8,
                        help="--format triton: the largest batch Triton's dynamic batching forms (default 8)")
    export.add_argument("--int8", action="store_true",
                        help="onnx, openvino, tflite: quantize to INT8 after training, calibrated on training images")
    export.add_argument("--calibration_images", type=int, default=64, metavar="N",
                        help="--int8: training images the quantization is calibrated on (default 64)")
    export.add_argument("--tta", choices=TTA_MODES,
                        help="build test-time augmentation into the export (default: the model's model.inference_tta)")
    export.add_argument("--threshold", type=float,
                        help="mask probability threshold stored in the export (default: calibration.json, else the config's)")
    add_min_area_argument(export)
    export.add_argument("--checkpoint_path", help="checkpoint to export (default: the best kept, else the latest)")
    export.add_argument("--tracking_uri", metavar="URI",
                        help="the MLflow store whose run of this model_dir gets the export folder (default: the "
                             "model_dir's runconfig.tracking_uri; unset: nothing is logged)")
    add_geometry_arguments(export)
    add_model_dir_config_arguments(export)
    export.set_defaults(command="export")

    calibrate = commands.add_parser(
        "calibrate", help="choose the threshold and smallest defect area on the evaluation split (calibration.json)")
    calibrate.add_argument("--model_dir", required=True)
    calibrate.add_argument("--checkpoint_path", help="checkpoint to calibrate (default: the best kept, else the latest)")
    calibrate.add_argument("--tta", choices=TTA_MODES,
                           help="calibrate with test-time augmentation (default: the model's model.inference_tta)")
    calibrate.add_argument("--objective", choices=("defect_Dice", "image_F1"), default="defect_Dice",
                           help="what the chosen pair maximizes: pixel defect Dice (default) or the image-level F1")
    calibrate.add_argument("--image_recall", type=float, metavar="R",
                           help="the line's operating point: the part verdict with the fewest false alarms among "
                                "those finding at least this share of the defective parts (e.g. 0.99; default: the "
                                "model's runconfig.image_recall, else the best image F1)")
    calibrate.add_argument("--thresholds", type=number_list(float), metavar="T,T,...",
                           help="probability thresholds to try (default 0.05 to 0.95 by 0.05; 0.5 always)")
    calibrate.add_argument("--min_areas", type=number_list(int), metavar="A,A,...",
                           help="smallest component areas to try, in pixels (default 0,4,8,...,2048)")
    add_model_dir_config_arguments(calibrate)
    calibrate.set_defaults(command="calibrate")

    add_serve_parser(commands)

    records = commands.add_parser("write-tfrecords", help="convert the dataset a params file names to TFRecords")
    records.add_argument("-p", "--params", help="YAML params file (default: the built-in demo preset)")
    records.add_argument("--output_directory", required=True, help="gets train/, test/ and manifest.json")
    records.add_argument("--images_per_file", type=int, default=256, help="records per shard (default 256)")
    records.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    records.add_argument("--debug", action="store_true")
    records.set_defaults(command="write-tfrecords")

    plan = commands.add_parser(
        "plan", help="read your own images/ and masks/ once and write a params file sized to a time budget")
    plan.add_argument("dataset_path", help="images/ and masks/, or your images with COCO, LabelMe, Label Studio or "
                                           "CVAT annotations; or train/ and test/ each holding one")
    plan.add_argument("--budget", default="30m", metavar="DURATION",
                      help="training time the plan fits on this machine, evaluations included (default 30m)")
    plan.add_argument("--output", default="plan.yaml", help="params file to write (default plan.yaml)")
    plan.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                      help="fix a choice yourself (kept as given; the run is timed and sized with it), repeatable")
    plan.add_argument("--debug", action="store_true")
    plan.set_defaults(command="plan")

    info = commands.add_parser("info", help="versions, CPU, GPUs, precision and threads, for a bug report")
    info.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    info.add_argument("--debug", action="store_true")
    info.set_defaults(command="info")

    synth = commands.add_parser("synth", help="generate a synthetic dataset")
    kinds = synth.add_subparsers(dest="kind", required=True)
    dagm = kinds.add_parser("dagm", help="a DAGM 2007 layout of textures with elliptical defects")
    dagm.add_argument("--output", required=True)
    dagm.add_argument("--class_ids", type=int, nargs="+", default=[1])
    dagm.add_argument("--train_images", type=int, default=100)
    dagm.add_argument("--test_images", type=int, default=40)
    dagm.add_argument("--defective_fraction", type=float, default=0.8)
    dagm.add_argument("--image_size", type=int, default=512)
    dagm.add_argument("--seed", type=int, default=0)
    dagm.add_argument("--debug", action="store_true")
    dagm.set_defaults(command="synth-dagm")
    severstal = kinds.add_parser("severstal", help="a Severstal layout: 1600x256 JPEGs and a train.csv of RLE rows")
    severstal.add_argument("--output", required=True)
    severstal.add_argument("--images", type=int, default=60)
    severstal.add_argument("--defect_free_fraction", type=float, default=0.25)
    severstal.add_argument("--seed", type=int, default=0)
    severstal.add_argument("--debug", action="store_true")
    severstal.set_defaults(command="synth-severstal")
    rare = kinds.add_parser("rare", help="your-own-folders layout: most images clean, a few small, faint defects")
    rare.add_argument("--output", required=True)
    rare.add_argument("--images", type=int, default=80)
    rare.add_argument("--defective_fraction", type=float, default=0.3)
    rare.add_argument("--min_side", type=int, default=64)
    rare.add_argument("--max_side", type=int, default=160)
    rare.add_argument("--contrast", type=float, default=30.0, help="the defects' brightness change (0..255)")
    rare.add_argument("--seed", type=int, default=0)
    rare.add_argument("--debug", action="store_true")
    rare.set_defaults(command="synth-rare")
    return parser
