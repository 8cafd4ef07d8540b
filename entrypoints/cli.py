"""The `unet` command: parse the flags, build the container, run one use case, print its result.

Errors a user can fix end with one line and exit status 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from unet_defects.arguments import make_parser
from unet_defects.domain.errors import UnetError
from unet_defects.reporting import (
    print_benchmark,
    print_calibration,
    print_compilation,
    print_evaluation,
    print_info,
    print_train_and_eval,
    print_training,
    progress_printer,
)

log = logging.getLogger("unet")

EXIT_USAGE = 2
EXIT_FAILURES = 1  # some of the work failed (unet predict: files it could not read), or a bug


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter hides the project's own output; users can override.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def setup_logging(debug: bool) -> None:
    """The project's own logger only: TensorFlow's loggers keep their own levels."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s unet: %(message)s", datefmt="%H:%M:%S"))
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if debug else logging.INFO)
    log.propagate = False


def _runconfig_overrides(args: argparse.Namespace) -> dict:
    mode = args.mode
    flags = {"validate_only": args.validate_only, "compile_only": args.compile_only}
    if mode in flags:  # `--mode validate_only` is the same as `--mode train --validate_only`
        flags[mode], mode = True, "train"
    return {
        "model_dir": args.model_dir, "mode": mode, "steps": args.steps, "max_steps": args.max_steps,
        "time_budget": args.time_budget, "tracking_uri": args.tracking_uri,
        "eval_steps": args.eval_steps, "checkpoint_path": args.checkpoint_path, "cs_ip": args.cs_ip,
        "device": args.device, "warmup_steps": args.warmup_steps,
        "with_input_pipeline": True if args.with_input_pipeline else None,
        **{key: True for key, value in flags.items() if value},
    }


# What each `unet run` mode calls on the container, and how its result is shown (an exit status).
RUN_MODES: dict[str, tuple[str, Callable]] = {
    "train": ("train", lambda outcome, experiment: print_training(outcome)),
    "eval": ("evaluate_splits", print_evaluation),
    "eval_all": ("evaluate_all", print_evaluation),
    "train_and_eval": ("train_and_evaluate", print_train_and_eval),
    "train_benchmark": ("benchmark", lambda report, experiment: print_benchmark(report)),
    "inference_benchmark": ("benchmark", lambda report, experiment: print_benchmark(report)),
    "validate": ("compile", lambda report, experiment: print_compilation(report)),
    "compile": ("compile", lambda report, experiment: print_compilation(report)),
}


def command_run(args: argparse.Namespace) -> int:
    from unet_defects.container import build_container

    if getattr(args, "ray", None) is not None or getattr(args, "workers", None) is not None:
        from unet_defects.ray_run import command_run_on_ray

        return command_run_on_ray(args, _runconfig_overrides(args))
    options = inference_options(args, checkpoint=False)
    container = build_container(args.params, _runconfig_overrides(args), args.set, options=options)
    experiment, invocation = container.experiment(), container.invocation()
    mode = invocation.compile_kind or invocation.mode
    log.info("mode %s, model_dir %s, params %s", mode, experiment.run.model_dir,
             args.params or "built-in demo preset")
    use_case, show = RUN_MODES[mode]
    # The use case is built inside the tracked run: the tracker's start-up overlaps TensorFlow's.
    return show(container.tracked_run().execute(lambda: getattr(container, use_case)().execute()), experiment) or 0


def inference_options(args: argparse.Namespace, checkpoint: bool = True):
    """The flags a command gives the inference session (those it has). `unet run` keeps
    --checkpoint_path in runconfig, as the reference does."""
    from unet_defects.application.options import DEFAULT_ENGINE, InferenceOptions

    flag = lambda name: getattr(args, name, None)  # noqa: E731
    return InferenceOptions(engine=flag("engine") or DEFAULT_ENGINE, model=flag("model"),
                            checkpoint=flag("checkpoint_path") if checkpoint else None, tta=flag("tta"),
                            threshold=flag("threshold"), min_area=flag("min_area"), geometry=flag("geometry"),
                            tile=flag("tile"), overlap=flag("tile_overlap"))


def _model_dir_container(args: argparse.Namespace):
    """A container from `<model_dir>/params.yaml` (or --params) for a trained model."""
    from unet_defects.predicting import ModelSpec

    return ModelSpec(args.model_dir, args.params, tuple(args.set)).container()


def command_predict(args: argparse.Namespace) -> int:
    from unet_defects.predicting import command_predict as predict

    return predict(args, inference_options(args))


def command_review(args: argparse.Namespace) -> int:
    from unet_defects.reviewing import command_review as review

    return review(args, inference_options(args))


def command_export(args: argparse.Namespace) -> int:
    container = _model_dir_container(args)
    if args.tracking_uri:  # over the model_dir's own runconfig.tracking_uri
        container.tracking_uri.override(args.tracking_uri)
    report = container.tracked_export().execute(lambda: container.export().execute(
        args.output, inference_options(args), format=args.format, int8=args.int8,
        calibration_images=args.calibration_images, name=args.name, max_batch=args.max_batch,
    ))
    kind = {"savedmodel": "SavedModel, signatures serving_default and network",
            "triton": "a Triton model repository: config.pbtxt, 1/model.onnx; min_area left to the client (README.md)",
            }.get(report.format, report.format)
    print(f"exported {report.source} to {report.path} ({kind}{', INT8' if report.int8 else ''}; {report.decision}; "
          f"tta {report.tta})")
    if report.drift_warning:
        print(report.drift_warning)
    return 0


def command_serve(args: argparse.Namespace) -> int:
    from unet_defects.serving.command import serve_command

    return serve_command(args, inference_options(args))


def command_calibrate(args: argparse.Namespace) -> int:
    from unet_defects.domain.calibration import DEFAULT_MIN_AREAS, DEFAULT_THRESHOLDS

    container = _model_dir_container(args)
    report = container.calibrate().execute(
        inference_options(args), thresholds=args.thresholds or DEFAULT_THRESHOLDS,
        min_areas=args.min_areas if args.min_areas is not None else DEFAULT_MIN_AREAS,
        progress=lambda done: log.info("calibrating: %d images scored", done) if done % 100 == 0 else None,
        objective=args.objective, image_recall=args.image_recall,
    )
    print_calibration(report)
    return 0


def command_report(args: argparse.Namespace) -> int:
    container = _model_dir_container(args)
    outcome = container.report().execute(args.output)
    print(f"wrote {outcome.path} ({'; '.join(outcome.panels)})")
    if outcome.pictures:
        print(f"wrote {len(outcome.pictures)} evaluation pictures: {', '.join(outcome.pictures)}")
    print(f"wrote {container.report_page().execute(outcome.path)} (the run on one page: its configuration, "
          "learning curves, evaluation pictures, decision and scores)")
    table = container.artifacts().write_table()  # older model_dirs get theirs too
    if table:
        print(f"wrote {table} (one row per evaluation: step, split, every score)")
    return 0


def command_write_tfrecords(args: argparse.Namespace) -> int:
    from unet_defects.container import build_container

    container = build_container(args.params, None, args.set)
    bars = {split: progress_printer(f"converted {split}") for split in ("train", "eval")}
    report = container.write_records().execute(
        args.output_directory, args.images_per_file, progress=lambda split, done, total: bars[split](done, total),
    )
    shards = len(report.files) - 1
    print(f"wrote {report.counts['train']} train and {report.counts['eval']} test records in {shards} files "
          f"under {report.directory} (manifest.json beside them)")
    return 0


def command_plan(args: argparse.Namespace) -> int:
    from unet_defects.configs.loader import parse_override
    from unet_defects.domain.durations import format_duration, parse_duration
    from unet_defects.planner import Planning

    budget = parse_duration(args.budget, "--budget")
    plan, path = Planning().plan().execute(args.dataset_path, budget, args.output,
                                           progress=progress_printer("read"), say=lambda text: log.info("%s", text),
                                           fixed=[parse_override(item) for item in args.set])
    takes = (f"in {args.budget}" if plan.length.fits(budget)
             else f"in about {format_duration(plan.length.needed_seconds())}, more than --budget {args.budget},")
    print(f"wrote {path}: {plan.length.steps} steps of {plan.choices_value('train_input', 'image_shape')} crops "
          f"{takes} on this machine; run it with: unet run -p {path}")
    return 0


def command_info(args: argparse.Namespace) -> int:
    from unet_defects.container import build_container

    print_info(build_container().info().execute(), as_json=args.json)
    return 0


def command_synth(args: argparse.Namespace) -> int:
    from unet_defects.adapters.datasets.synthetic_dagm import SyntheticDagmSpec, generate

    spec = SyntheticDagmSpec(
        class_ids=tuple(args.class_ids), train_images=args.train_images, test_images=args.test_images,
        defective_fraction=args.defective_fraction, image_size=args.image_size, seed=args.seed,
    )
    generate(spec, args.output, progress=lambda text: log.info("writing %s", text))
    log.info("wrote a DAGM-layout dataset to %s", args.output)
    return 0


def command_synth_severstal(args: argparse.Namespace) -> int:
    from unet_defects.adapters.datasets.synthetic_severstal import SyntheticSeverstalSpec, generate

    spec = SyntheticSeverstalSpec(images=args.images, defect_free_fraction=args.defect_free_fraction, seed=args.seed)
    generate(spec, args.output, progress=lambda text: log.info("writing %s", text))
    log.info("wrote a Severstal-layout dataset to %s", args.output)
    return 0


def command_synth_rare(args: argparse.Namespace) -> int:
    from unet_defects.adapters.datasets.synthetic_rare import SyntheticRareSpec, generate

    spec = SyntheticRareSpec(images=args.images, defective_fraction=args.defective_fraction, min_side=args.min_side,
                             max_side=args.max_side, contrast=args.contrast, seed=args.seed)
    generate(spec, args.output, progress=lambda text: log.info("writing %s", text))
    log.info("wrote an images/ + masks/ dataset to %s", args.output)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": command_run,
    "predict": command_predict,
    "review": command_review,
    "export": command_export,
    "calibrate": command_calibrate,
    "serve": command_serve,
    "report": command_report,
    "write-tfrecords": command_write_tfrecords,
    "info": command_info,
    "plan": command_plan,
    "synth-dagm": command_synth,
    "synth-severstal": command_synth_severstal,
    "synth-rare": command_synth_rare,
}


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a command, mapping the project's errors to one line and an exit status."""
    _quiet_tensorflow()
    setup_logging(args.debug)
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
    return run_guarded(COMMANDS[args.command], args)


if __name__ == "__main__":
    sys.exit(main())
