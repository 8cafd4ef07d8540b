"""The `unet` command: run (the reference's run.py flags), predict, export, report, synth.

Errors a user can fix end with one line and exit status 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from domain.errors import UnetError
from entrypoints.reporting import print_evaluation, print_training, progress_printer
from domain.tiling import GEOMETRIES
from domain.training import MODES

log = logging.getLogger("unet")

EXIT_USAGE = 2
EXIT_FAILURES = 1


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter hides the project's own output; users can override.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _setup_logging(debug: bool) -> None:
    """The project's own logger only: TensorFlow's loggers keep their own levels."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s unet: %(message)s", datefmt="%H:%M:%S"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The reference's run.py flags, plus --set and --debug."""
    parser.add_argument("-p", "--params", help="YAML params file (default: the built-in demo preset)")
    parser.add_argument("-o", "--model_dir", help="checkpoints, summaries and results; training resumes here")
    parser.add_argument("-m", "--mode", choices=MODES + ("validate_only", "compile_only"),
                        help="train, eval, eval_all, train_and_eval, train_benchmark or inference_benchmark (default: runconfig.mode)")
    parser.add_argument("--steps", type=int, help="train this many more steps in this call")
    parser.add_argument("--max_steps", type=int, help="train until this global step")
    parser.add_argument("--eval_steps", type=int, help="evaluation batches (<= 0: all images)")
    parser.add_argument("--checkpoint_path", help="checkpoint to evaluate or predict with")
    parser.add_argument("--cs_ip", help="Cerebras system address")
    parser.add_argument("--device", help="force a device, e.g. /gpu:0 or /cpu:0")
    parser.add_argument("--warmup_steps", type=int, help="benchmark modes: steps run before timing starts")
    parser.add_argument("--with_input_pipeline", action="store_true",
                        help="benchmark modes: read the configured dataset instead of in-memory batches")
    parser.add_argument("--validate_only", action="store_true", help="validate the model and pipeline only")
    parser.add_argument("--compile_only", action="store_true", help="compile the training step only")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override any config key, e.g. --set train_input.class_id=2 (repeatable)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _runconfig_overrides(args: argparse.Namespace) -> dict:
    mode = args.mode
    flags = {"validate_only": args.validate_only, "compile_only": args.compile_only}
    if mode in flags:  # `--mode validate_only` is the same as `--mode train --validate_only`
        flags[mode], mode = True, "train"
    return {
        "model_dir": args.model_dir, "mode": mode, "steps": args.steps, "max_steps": args.max_steps,
        "eval_steps": args.eval_steps, "checkpoint_path": args.checkpoint_path, "cs_ip": args.cs_ip,
        "device": args.device, "warmup_steps": args.warmup_steps,
        "with_input_pipeline": True if args.with_input_pipeline else None,
        **{key: True for key, value in flags.items() if value},
    }


def command_run(args: argparse.Namespace) -> int:
    from configs.loader import write_resolved
    from entrypoints.container import build_container

    container = build_container(args.params, _runconfig_overrides(args), args.set)
    experiment = container.experiment()
    run = experiment.run
    log.info("mode %s, model_dir %s, params %s", run.mode, run.model_dir, args.params or "built-in demo preset")
    if run.executor_name() == "cerebras":
        cerebras = container.cerebras()
        cerebras.check_mode()
        log.info("resolved parameters written to %s", write_resolved(experiment, run.model_dir))
        print(cerebras.execute())
        return 0
    if run.validate_only or run.compile_only:
        return _compile(container, "validate" if run.validate_only else "compile")
    _warn_ignored(experiment)
    if run.mode in ("train", "train_and_eval"):  # the runs that write checkpoints
        _refuse_other_topology(experiment)
        log.info("resolved parameters written to %s", write_resolved(experiment, run.model_dir))
    handlers: dict[str, Callable[[], None]] = {
        "train": lambda: print_training(container.train().execute()),
        "eval": lambda: print_evaluation([container.evaluate().execute()], experiment),
        "eval_all": lambda: print_evaluation(container.evaluate_all().execute(), experiment),
        "train_and_eval": lambda: _train_and_eval(container, experiment),
        "train_benchmark": lambda: _benchmark(container, run),
        "inference_benchmark": lambda: _benchmark(container, run),
    }
    handlers[run.mode]()
    return 0


def _compile(container, kind: str) -> int:
    report = container.compile().execute(kind)
    print(f"parameters {report.parameters:,}, {report.forward_flops_per_image / 1e9:.2f} GFLOP per image forward, "
          f"precision {report.precision}")
    for problem in report.problems:
        print(f"unet: {problem}", file=sys.stderr)
    if report.problems:
        return 2
    if kind == "validate":
        print("validated: the training step traces for the input pipeline's batches (nothing was run)")
    else:
        details = report.details
        print(f"compiled the training step with XLA in {details['compile_seconds']:.1f} s: "
              f"{details['hlo_instructions']} HLO instructions; wrote {details['hlo']} and {details['report']}")
    return 0


def _warn_ignored(experiment) -> None:
    """Keys the reference reads that this release accepts but does not act on yet."""
    ignored = {
        "optimizer.log_grads": experiment.optimizer.log_grads,
        "optimizer.log_hists": experiment.optimizer.log_hists,
    }
    for key, value in ignored.items():
        if value:
            log.warning("%s: not implemented yet, ignored", key)


def _refuse_other_topology(experiment) -> None:
    """Resuming into a model_dir trained with other weight shapes fails here, in one line,
    rather than in a checkpoint restore."""
    from configs.loader import load_experiment

    saved_path = Path(experiment.run.model_dir) / "params.yaml"
    if not saved_path.is_file():
        return
    try:
        saved = load_experiment(saved_path)
    except UnetError as error:
        log.warning("cannot compare with the saved %s (%s)", saved_path, error)
        return
    changes = saved.model.weight_differences(experiment.model)
    if changes:
        raise UnetError(
            f"{experiment.run.model_dir}: holds a model of another topology ({'; '.join(changes)}); "
            "use a new --model_dir or restore the saved params.yaml"
        )


def _train_and_eval(container, experiment) -> None:

    outcome, results = container.train_and_evaluate().execute()
    print_training(outcome)
    print_evaluation(results[-1:], experiment)


def _benchmark(container, run) -> None:
    import json

    use_case = container.benchmark_with_input_pipeline() if run.with_input_pipeline else container.benchmark()
    report = use_case.execute(run.mode, steps=run.steps, warmup_steps=run.warmup_steps)
    log.info("%s: %.2f images/s (%s, %s)", run.mode, report.images_per_second, report.precision, report.device)
    print(json.dumps(report.as_dict()))


def command_predict(args: argparse.Namespace) -> int:
    from application.prediction import Submission

    container = _model_dir_container(args)
    submission = None
    if args.rle_csv:
        class_id = args.class_id or container.experiment().data.class_id
        if class_id is None:
            raise UnetError("--class_id: required with --rle-csv (the config names no train_input.class_id)")
        submission = Submission(args.rle_csv, class_id, args.min_area)
    predict = container.predict()
    geometry = predict.default_geometry(args.geometry, args.tile, args.tile_overlap)
    if geometry.mode == "native":
        log.info("native resolution: padded to multiples of %d, tiles of %dx%d overlapping by %d pixels",
                 geometry.stride, *geometry.tile, geometry.overlap)
    report = predict.execute(
        args.input, args.output, checkpoint=args.checkpoint_path, threshold=args.threshold,
        progress=progress_printer("predicted"), save_probabilities=args.probabilities, submission=submission,
        geometry=geometry,
    )
    log.info("wrote %d masks and overlays to %s (checkpoint step %d)", report.images_done, args.output, report.step)
    for failure in report.failures:
        print(f"unet: failed: {failure}", file=sys.stderr)
    return EXIT_FAILURES if report.failures else 0


def _model_dir_container(args: argparse.Namespace):
    """A container from `<model_dir>/params.yaml` (or --params) for a trained model."""
    from entrypoints.container import build_container

    params = args.params or str(Path(args.model_dir) / "params.yaml")
    if not Path(params).is_file():
        raise UnetError(f"{params}: no params.yaml in the model_dir; pass --params with the training config")
    return build_container(params, {"model_dir": args.model_dir}, args.set)


def command_export(args: argparse.Namespace) -> int:
    container = _model_dir_container(args)
    report = container.export().execute(
        args.output, checkpoint=args.checkpoint_path, threshold=args.threshold,
        geometry=args.geometry,
    )
    print(f"exported step {report.step} to {report.path} (SavedModel, signature serving_default, "
          f"mask threshold {report.threshold:g})")
    return 0


def command_report(args: argparse.Namespace) -> int:
    outcome = _model_dir_container(args).report().execute(args.output)
    print(f"wrote {outcome.path} ({'; '.join(outcome.panels)})")
    return 0


def command_write_tfrecords(args: argparse.Namespace) -> int:
    from entrypoints.container import build_container

    container = build_container(args.params, None, args.set)
    bars = {split: progress_printer(f"converted {split}") for split in ("train", "eval")}
    report = container.write_records().execute(
        args.output_directory, args.images_per_file, progress=lambda split, done, total: bars[split](done, total),
    )
    shards = len(report.files) - 1
    print(f"wrote {report.counts['train']} train and {report.counts['eval']} test records in {shards} files "
          f"under {report.directory} (manifest.json beside them)")
    return 0


def command_synth(args: argparse.Namespace) -> int:
    from adapters.datasets.synthetic_dagm import SyntheticDagmSpec, generate

    spec = SyntheticDagmSpec(
        class_ids=tuple(args.class_ids), train_images=args.train_images, test_images=args.test_images,
        defective_fraction=args.defective_fraction, image_size=args.image_size, seed=args.seed,
    )
    generate(spec, args.output, progress=lambda text: log.info("writing %s", text))
    log.info("wrote a DAGM-layout dataset to %s", args.output)
    return 0


def command_synth_severstal(args: argparse.Namespace) -> int:
    from adapters.datasets.synthetic_severstal import SyntheticSeverstalSpec, generate

    spec = SyntheticSeverstalSpec(images=args.images, defect_free_fraction=args.defect_free_fraction, seed=args.seed)
    generate(spec, args.output, progress=lambda text: log.info("writing %s", text))
    log.info("wrote a Severstal-layout dataset to %s", args.output)
    return 0


def tile_size(text: str) -> tuple[int, int]:
    height, _, width = text.lower().partition("x")
    try:
        return int(height), int(width or height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 256x256, got {text!r}") from None


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


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unet", description="UNet defect segmentation (DAGM, Severstal, your own).")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="train / evaluate (the reference's run.py)")
    add_run_arguments(run)
    run.set_defaults(handler=command_run)

    predict = commands.add_parser("predict", help="predict defect masks for images")
    predict.add_argument("--model_dir", required=True)
    predict.add_argument("--input", required=True, nargs="+", help="image files or folders")
    predict.add_argument("--output", required=True, help="folder for <stem>_mask.png and <stem>_overlay.png")
    predict.add_argument("--threshold", type=float, help="defect probability threshold (default: the config's rule)")
    predict.add_argument("--checkpoint_path", help="checkpoint to use (default: the latest)")
    predict.add_argument("--probabilities", action="store_true",
                         help="also write <stem>_probability.png (16-bit, probability x 65535)")
    predict.add_argument("--rle-csv", dest="rle_csv", metavar="FILE",
                         help="write a Kaggle Severstal submission (ImageId,ClassId,EncodedPixels)")
    predict.add_argument("--class_id", type=int, help="ClassId of the submission rows (default: the config's)")
    predict.add_argument("--min_area", type=int, default=0,
                         help="submission: leave a row empty when the predicted area is below this many pixels")
    add_geometry_arguments(predict)
    predict.add_argument("--tile", type=tile_size, metavar="HxW",
                         help="native geometry: largest piece run at once (default: the training image size)")
    predict.add_argument("--tile_overlap", type=int, metavar="PIXELS",
                         help="native geometry: overlap of neighbouring tiles (default: 1/8 of the tile, <= 32)")
    add_model_dir_config_arguments(predict)
    predict.set_defaults(handler=command_predict)

    report = commands.add_parser("report", help="draw the training loss and evaluation scores into report.png")
    report.add_argument("--model_dir", required=True)
    report.add_argument("--output", help="picture to write (default: <model_dir>/report.png)")
    add_model_dir_config_arguments(report)
    report.set_defaults(handler=command_report)

    export = commands.add_parser("export", help="export a trained model as a TensorFlow SavedModel")
    export.add_argument("--model_dir", required=True)
    export.add_argument("--output", required=True, help="folder for the SavedModel")
    export.add_argument("--threshold", type=float, help="mask probability threshold stored in the export")
    export.add_argument("--checkpoint_path", help="checkpoint to export (default: the latest)")
    add_geometry_arguments(export)
    add_model_dir_config_arguments(export)
    export.set_defaults(handler=command_export)

    records = commands.add_parser("write-tfrecords", help="convert the dataset a params file names to TFRecords")
    records.add_argument("-p", "--params", help="YAML params file (default: the built-in demo preset)")
    records.add_argument("--output_directory", required=True, help="gets train/, test/ and manifest.json")
    records.add_argument("--images_per_file", type=int, default=256, help="records per shard (default 256)")
    records.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    records.add_argument("--debug", action="store_true")
    records.set_defaults(handler=command_write_tfrecords)

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
    dagm.set_defaults(handler=command_synth)
    severstal = kinds.add_parser("severstal", help="a Severstal layout: 1600x256 JPEGs and a train.csv of RLE rows")
    severstal.add_argument("--output", required=True)
    severstal.add_argument("--images", type=int, default=60)
    severstal.add_argument("--defect_free_fraction", type=float, default=0.25)
    severstal.add_argument("--seed", type=int, default=0)
    severstal.add_argument("--debug", action="store_true")
    severstal.set_defaults(handler=command_synth_severstal)
    return parser


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command, mapping the project's errors to one line and an exit status."""
    _quiet_tensorflow()
    _setup_logging(args.debug)
    try:
        return handler(args)
    except UnetError as error:
        if args.debug:
            raise
        print(f"unet: error: {error}", file=sys.stderr)
        return getattr(error, "exit_status", EXIT_USAGE)
    except KeyboardInterrupt:
        print("unet: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug, not a user error: still one line unless --debug
        if args.debug:
            raise
        first = str(error).splitlines()[0] if str(error) else ""
        print(f"unet: internal error: {type(error).__name__}: {first} (run with --debug for the traceback)",
              file=sys.stderr)
        return EXIT_FAILURES


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return run_guarded(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
