"""`unet predict`: in this process, or over an archive on Ray Data (`--ray [ADDRESS]`)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import attrs

from unet_defects.application.archive import ArchiveWorker
from unet_defects.application.options import InferenceOptions
from unet_defects.application.prediction import FilePredictions
from unet_defects.application.session import BEST_KEPT
from unet_defects.domain.errors import ConfigError, UnetError

log = logging.getLogger("unet")


@attrs.frozen
class ModelSpec:
    """What a process needs to build predict's container: on the driver, and again on each Ray
    worker (it travels pickled)."""

    model_dir: str | None
    params: str | None
    sets: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ModelSpec:
        if args.model_dir is None and args.model is None:
            raise UnetError(f"{args.command}: needs --model_dir (a trained model) or --model (an export)")
        return cls(args.model_dir, args.params, tuple(args.set))

    def absolute(self) -> ModelSpec:
        """Its paths as every worker, wherever its folder, reads them."""
        return attrs.evolve(self, model_dir=_absolute(self.model_dir), params=_absolute(self.params))

    @property
    def check_input(self) -> bool:
        """The config is the model's own, not the default preset beside an export."""
        return self.model_dir is not None

    def container(self):
        from unet_defects.container import build_container

        if self.model_dir is None:
            return build_container(self.params, {}, self.sets)  # the export's manifest says the rest
        params = self.params or str(Path(self.model_dir) / "params.yaml")
        if not Path(params).is_file():
            raise UnetError(f"{params}: no params.yaml in the model_dir; pass --params with the training config")
        return build_container(params, {"model_dir": self.model_dir}, self.sets)


@attrs.frozen
class WorkerSpec:
    model: ModelSpec
    output: str
    save_probabilities: bool = False
    max_pixels: int | None = None


def _absolute(path: str | None) -> str | None:
    return None if path is None else str(Path(path).absolute())


def open_worker(spec: WorkerSpec, options: InferenceOptions, expected: dict) -> ArchiveWorker:
    """A Ray worker's model, opened once: the checkpoint or export the driver pinned in
    `options`, refused unless it is what the driver opened (`expected`)."""
    container = spec.model.container()
    session = container.session_opener().open(options, BEST_KEPT, check_input=spec.model.check_input)
    return ArchiveWorker(FilePredictions(session, container.inspection_pipeline(), container.images(),
                                         container.artifacts(), spec.output, options, spec.save_probabilities,
                                         spec.max_pixels), expected)


def command_predict(args: argparse.Namespace, options: InferenceOptions) -> int:
    from unet_defects.application.prediction import Submission
    from unet_defects.reporting import progress_printer

    spec = ModelSpec.from_args(args)
    if args.ray is not None:
        return _predict_on_ray(args, spec, options)
    if args.workers is not None:
        raise ConfigError("--workers: only with --ray (one process uses this machine's cores by itself)")
    submission = Submission(args.rle_csv, args.class_id, args.min_total_area) if args.rle_csv else None
    report = spec.container().predict().execute(
        args.input, args.output, options, progress=progress_printer("predicted"), save_probabilities=args.probabilities,
        submission=submission, check_input=spec.check_input, max_pixels=args.max_pixels, annotations=args.annotations,
    )
    geometry = report.geometry
    if geometry is not None and geometry.mode == "native":
        log.info("native resolution: padded to multiples of %d, tiles of %dx%d overlapping by %d pixels",
                 geometry.stride, *geometry.tile, geometry.overlap)
    log.info("wrote %d masks and overlays to %s (%s; %s; tta %s)", report.images_done, args.output, report.source,
             report.decision, report.tta)
    for failure in report.failures:
        print(f"unet: failed: {failure}", file=sys.stderr)
    return exit_status(report.failures)


def exit_status(failures) -> int:
    from unet_defects.cli import EXIT_FAILURES

    return EXIT_FAILURES if failures else 0


def _predict_on_ray(args: argparse.Namespace, spec: ModelSpec, options: InferenceOptions) -> int:
    import functools

    from unet_defects.adapters.ray_data import RayDataRunner
    from unet_defects.reporting import rate_printer

    if args.annotations:
        raise ConfigError("--annotations: not with --ray yet (the proposals are written by one process); run unet "
                          "predict without --ray on the images to review")
    if args.rle_csv:
        raise ConfigError("--rle-csv: not with --ray (a submission is one file in input order; run unet predict "
                          "without --ray, or read predictions.jsonl)")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers: must be 1 or more, got {args.workers}")
    runner = RayDataRunner(address=args.ray or None, workers=args.workers, say=lambda text: log.info("%s", text))
    spec = spec.absolute()
    options = attrs.evolve(options, model=_absolute(options.model), checkpoint=_absolute(options.checkpoint))
    worker = functools.partial(open_worker, WorkerSpec(spec, str(Path(args.output).absolute()), args.probabilities,
                                                       args.max_pixels))
    report = spec.container().archive(runner=runner).execute(
        args.input, args.output, worker, options, check_input=spec.check_input, progress=rate_printer("predicted"),
    )
    if report.done_before:
        log.info("%d of %d images were written by an earlier run into %s; predicted the other %d",
                 report.done_before, report.total, args.output, report.total - report.done_before)
    log.info("wrote %d masks and overlays to %s in %.1f s (the first batch after %.1f s; %s; %s; tta %s)",
             report.done, args.output, report.seconds, report.first_batch_seconds, report.source, report.decision,
             report.tta)
    for _, failure in report.failures:
        print(f"unet: failed: {failure}", file=sys.stderr)
    if report.failures:
        log.info("%d files failed, one line each in %s", len(report.failures), report.written[-1])
    return exit_status(report.failures)
