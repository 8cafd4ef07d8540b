"""What a tracked run records, by name: the resolved configuration as flat parameters and each
score as a metric of its split. Tracking stores (MLflow) take keys of letters, digits and
`_ - . / : space` only, and the oldest servers still in use cut a parameter's value at 500
characters, so both are made to fit here, before any store sees them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

MAX_PARAM_LENGTH = 500
MAX_KEY_LENGTH = 250
# Where the run is tracked is not a parameter of the run (and an export may name another store).
UNTRACKED_PARAMS = frozenset({"runconfig.tracking_uri"})

# The training scalars logged at each log step.
TRAIN_LOSS = "train/loss"
TRAIN_LEARNING_RATE = "train/learning_rate"

_NOT_IN_KEYS = re.compile(r"[^\w\-. /:]")


def tracking_key(text: str) -> str:
    """`text` with every character a store refuses in a key turned into `_`."""
    return _NOT_IN_KEYS.sub("_", text)[:MAX_KEY_LENGTH]


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested sections to dotted keys (`train_input.batch_size`). A list of mappings is numbered
    (`optimizer.learning_rate.0.steps`, a schedule's segments); any other list stays one value."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)) and any(isinstance(item, Mapping) for item in value):
            flat.update(flatten({str(index): item for index, item in enumerate(value)}, f"{name}."))
        else:
            flat[name] = value
    return flat


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return str(value)


def param_text(value: Any, limit: int = MAX_PARAM_LENGTH) -> str:
    """A parameter's value as text, cut to `limit` characters with a note saying so (the whole
    value is in the run's params.yaml)."""
    text = _text(value)
    if len(text) <= limit:
        return text
    note = f" ... ({len(text)} characters, whole in params.yaml)"
    return text[:limit - len(note)] + note


def run_params(resolved: Mapping[str, Any]) -> dict[str, str]:
    """The resolved configuration (params.yaml's sections) as the run's parameters."""
    return {tracking_key(key): param_text(value) for key, value in flatten(resolved).items()
            if key not in UNTRACKED_PARAMS}


def param_changes(logged: Mapping[str, str], current: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(parameters not logged yet, `old -> new` of those whose value changed). A run's logged
    parameters cannot change, so a resumed call with other values records them apart."""
    new = {key: value for key, value in current.items() if key not in logged}
    changed = {key: param_text(f"{logged[key]} -> {value}") for key, value in current.items()
               if key in logged and logged[key] != value}
    return new, changed


def metric_key(*parts: str) -> str:
    return "/".join(tracking_key(part) for part in parts)


def _numbers(prefix: tuple[str, ...], scores: Mapping[str, float | None]) -> dict[str, float]:
    """The defined scores (image_AUROC is None with one kind of image only)."""
    return {metric_key(*prefix, name): float(value) for name, value in scores.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)}


def score_metrics(split: str, scores: Mapping[str, float | None],
                  classes: Iterable[tuple[str, Mapping[str, float | None]]] = (),
                  thresholds: Iterable[tuple[float, Mapping[str, float | None]]] = ()) -> dict[str, float]:
    """One evaluation's scores as metrics of its split: `validation/defect_Dice` (the part that
    chooses checkpoints), `test/defect_Dice` (the test images scored apart) or `eval/defect_Dice`
    (the evaluation images, with no validation part); each class of several under
    `<split>/class_<name>/`, each of model.eval_thresholds under `<split>/threshold_<t>/`."""
    metrics = _numbers((split,), scores)
    for name, class_scores in classes:
        metrics.update(_numbers((split, f"class_{name}"), class_scores))
    for threshold, threshold_scores in thresholds:
        metrics.update(_numbers((split, f"threshold_{threshold:g}"), threshold_scores))
    return metrics
