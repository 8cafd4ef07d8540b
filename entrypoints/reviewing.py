"""`unet review`: the unlabelled images worth labelling next, least sure first, with the model's
proposals for them in a labelling tool's format (application.review)."""

from __future__ import annotations

import argparse
import logging
import sys

from unet_defects.adapters.annotation_exports.proposals import ANNOTATION_FORMATS
from unet_defects.domain.review import MEASURES, PIXEL_BAND

log = logging.getLogger("unet")


def add_review_parser(commands) -> None:
    from unet_defects.arguments import (
        add_geometry_arguments,
        add_inference_arguments,
        add_max_pixels_argument,
        add_min_area_argument,
        add_model_dir_config_arguments,
        add_tile_arguments,
    )

    review = commands.add_parser("review", help="rank unlabelled images by the model's doubt; proposals for the "
                                                "first N to label next")
    review.add_argument("--model_dir", help="a trained model_dir (or --model with an export)")
    review.add_argument("--input", required=True, nargs="+",
                        help="the unlabelled images: files, folders, globs or .txt files listing paths")
    review.add_argument("--output", required=True,
                        help="folder for review.csv, review.json and the chosen images' masks and proposals")
    review.add_argument("--count", type=int, default=50, metavar="N", help="images to choose (default 50)")
    review.add_argument("--by", choices=MEASURES, default="margin",
                        help="margin: the part's verdict closest to going the other way (default); pixels: the "
                             f"largest share of pixels within {PIXEL_BAND} of the pixel threshold")
    review.add_argument("--annotations", nargs="+", choices=ANNOTATION_FORMATS, default=["coco"], metavar="FORMAT",
                        help="the chosen images' proposals: coco (predictions.coco.json) and/or labelme "
                             "(labelme/) (default coco)")
    review.add_argument("--threshold", type=float, help="defect probability threshold (default: calibration.json's)")
    review.add_argument("--checkpoint_path", help="checkpoint to use (default: the best kept, else the latest)")
    add_min_area_argument(review)
    add_inference_arguments(review, "review")
    add_geometry_arguments(review)
    add_tile_arguments(review)
    add_max_pixels_argument(review)
    add_model_dir_config_arguments(review)
    review.set_defaults(command="review")


def command_review(args: argparse.Namespace, options) -> int:
    from unet_defects.predicting import ModelSpec, exit_status
    from unet_defects.reporting import progress_printer

    spec = ModelSpec.from_args(args)
    report = spec.container().review().execute(args.input, args.output, args.count, args.by, args.annotations,
                                               options, progress=progress_printer("scored"),
                                               check_input=spec.check_input, max_pixels=args.max_pixels)
    log.info("ranked %d images by %s (%s); the %d least sure, with their proposals (%s), in %s", len(report.ranked),
             report.by, report.source, len(report.chosen), ", ".join(args.annotations), args.output)
    for failure in report.failures:
        print(f"unet: failed: {failure}", file=sys.stderr)
    return exit_status(report.failures)
