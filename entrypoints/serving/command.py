"""`unet serve` from its flags: the checks that need no model first, then the Inspector, then
uvicorn until a signal."""

from __future__ import annotations

import argparse

import attrs

from unet_defects.adapters.runtimes.extras import require
from unet_defects.application.options import InferenceOptions
from unet_defects.domain.errors import UnetError


def serve_command(args: argparse.Namespace, options: InferenceOptions) -> int:
    for module in ("starlette", "uvicorn", "prometheus_client"):
        require(module, "unet serve", extra="serve")
    from unet_defects import Inspector
    from unet_defects.serving.runner import drift_warning, serve
    from unet_defects.serving.settings import ServeSettings, check_exposure, read_token

    if (args.model_dir is None) == (args.model is None):
        raise UnetError("serve: give one of --model_dir (a trained model) or --model (an export)")
    token = read_token(args.token_file)
    check_exposure(args.host, token, args.insecure)
    flags = {field.name: getattr(args, field.name) for field in attrs.fields(ServeSettings) if field.name != "token"}
    settings = ServeSettings(token=token, **flags)
    inspector = Inspector.open(model_dir=args.model_dir, export=options.model, engine=options.engine, tta=options.tta,
                               threshold=options.threshold, min_area=options.min_area, geometry=options.geometry,
                               max_pixels=settings.max_pixels, checkpoint=options.checkpoint,
                               batch_size=settings.max_batch, drift_window=settings.drift_window,
                               drift_min_images=settings.drift_min_images, drift_bounds=settings.drift.bounds,
                               on_drift=drift_warning)
    return serve(inspector, settings, options.engine, args.host, args.port)
