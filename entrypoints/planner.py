"""The composition root of `unet plan`: no configuration yet, only the dataset to read and this
machine to time (entrypoints.container composes everything that runs from a configuration)."""

from __future__ import annotations

import importlib
from typing import Any

from dependency_injector import containers, providers

from unet_defects.application.planning import PlanUseCase


class Planning(containers.DeclarativeContainer):
    survey = providers.Singleton(lambda: _import("unet_defects.adapters.datasets.survey", "FolderSurvey")())
    fingerprinter = providers.Singleton(lambda: _import("unet_defects.adapters.fingerprinting", "FileFingerprinter")())
    timer = providers.Singleton(lambda: _import("unet_defects.step_timer", "ContainerStepTimer")())
    writer = providers.Singleton(lambda: _import("unet_defects.configs.plan_file", "CommentedPlanFile")())
    plan: providers.Factory[PlanUseCase] = providers.Factory(
        PlanUseCase, survey=survey, fingerprinter=fingerprinter, timer=timer, writer=writer,
    )


def _import(module: str, name: str) -> Any:
    """Adapters load when asked for: `unet plan` on a bad folder never starts TensorFlow."""
    return getattr(importlib.import_module(module), name)
