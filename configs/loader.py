"""Config loading: a YAML file (or a mapping), the reference's defaults, then overrides.

Every key is checked: an unknown key fails with its path and the closest known key, a bad
value fails naming its key (the specs' validators). The result is a frozen ExperimentSpec;
`write_resolved` saves what was resolved to `<model_dir>/params.yaml`. One call's flags
(`runconfig.mode`, `steps`, `checkpoint_path`, ...) become a domain.invocation.Invocation
and are never saved.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import yaml

from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.experiment import (
    CerebrasModelKnobs,
    CerebrasSpec,
    EvalSpec,
    ExperimentSpec,
    PrecisionSpec,
)
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.losses import LossSpec
from unet_defects.domain.plan_record import PlanRecord
from unet_defects.domain.topology import UNetSpec
from unet_defects.domain.training import OptimizerSpec, RunSpec

PRESETS_DIR = Path(__file__).resolve().parent
DEFAULT_PRESET = "params_demo.yaml"

# Which spec classes read the keys of each YAML section.
SECTION_SPECS: dict[str, tuple[type, ...]] = {
    "train_input": (DataSpec,),
    "eval_input": (DataSpec,),
    "model": (UNetSpec, EvalSpec, PrecisionSpec, CerebrasModelKnobs, LossSpec),
    "optimizer": (OptimizerSpec,),
    "runconfig": (RunSpec, Invocation),
    "csconfig": (CerebrasSpec,),
    "augmentation": (AugmentationSpec,),
    "plan": (PlanRecord,),
}
# UNetSpec reads these from train_input, not from model.
FROM_INPUT = ("image_shape", "num_classes")
PATH_KEYS = {"train_input": ("dataset_path",), "eval_input": ("dataset_path",),
             "runconfig": ("model_dir", "checkpoint_path")}


def _fields(spec: type) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(spec))


def known_keys(section: str) -> tuple[str, ...]:
    keys: list[str] = []
    for spec in SECTION_SPECS[section]:
        keys += [name for name in _fields(spec) if not (spec is UNetSpec and name in FROM_INPUT)]
    return tuple(keys)


def _printable(name: object) -> str:
    """A user-supplied key as it can stand in a one-line message."""
    text = str(name)
    return text if text.isprintable() else repr(text)


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _unknown_key_message(section: str, key: str) -> str:
    key = _printable(key)
    suggestion = _closest(key, known_keys(section))
    if suggestion is None:
        # Perhaps a known key placed in the wrong section.
        for other in SECTION_SPECS:
            if other != section and key in known_keys(other):
                return f"{section}.{key}: unknown key; it belongs in section '{other}'"
        everywhere = [f"{s}.{k}" for s in SECTION_SPECS for k in known_keys(s)]
        suggestion = _closest(f"{section}.{key}", everywhere)
        return f"{section}.{key}: unknown key" + (f"; did you mean '{suggestion}'?" if suggestion else "")
    return f"{section}.{key}: unknown key; did you mean '{section}.{suggestion}'?"


def read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read params file ({error.strerror})") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(loaded).__name__}")
    return loaded


def _check_sections(params: Mapping[str, Any]) -> None:
    for section, body in params.items():
        if section not in SECTION_SPECS:
            suggestion = _closest(str(section), SECTION_SPECS)
            hint = f"; did you mean '{suggestion}'?" if suggestion else f"; known: {', '.join(SECTION_SPECS)}"
            raise ConfigError(f"{_printable(section)}: unknown section{hint}")
        if body is None:
            continue
        if not isinstance(body, dict):
            raise ConfigError(f"{section}: expected a mapping of keys, got {type(body).__name__}")
        allowed = set(known_keys(section))
        for key in body:
            if key not in allowed:
                raise ConfigError(_unknown_key_message(section, str(key)))


def parse_override(assignment: str) -> tuple[str, str, Any]:
    """`section.key=value` (value read as YAML) into its parts."""
    path, sep, raw = assignment.partition("=")
    section, dot, key = path.strip().partition(".")
    if not sep or not dot or not key:
        raise ConfigError(f"--set {assignment}: expected section.key=value, e.g. runconfig.max_steps=100")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        raise ConfigError(f"--set {assignment}: the value is not valid YAML") from None
    return section, key, value


def _merge(params: Mapping[str, Any], overrides: Iterable[tuple[str, str, Any]]) -> dict[str, dict]:
    merged = {section: dict(body or {}) for section, body in params.items()}
    for section, key, value in overrides:
        merged.setdefault(section, {})[key] = value
    return merged


def _expand_paths(params: dict[str, dict]) -> None:
    for section, keys in PATH_KEYS.items():
        for key in keys:
            value = params.get(section, {}).get(key)
            if isinstance(value, str) and value:
                params[section][key] = os.path.expanduser(os.path.expandvars(value))


def _build(spec: type, section: str, values: Mapping[str, Any]) -> Any:
    names = set(_fields(spec))
    chosen = {k: v for k, v in values.items() if k in names}
    for field in attrs.fields(spec):
        if field.default is attrs.NOTHING and field.name not in chosen:
            owner = "train_input" if (spec is UNetSpec and field.name in FROM_INPUT) else section
            raise ConfigError(f"{owner}.{field.name}: required key is missing")
    return spec(**chosen)


def build_experiment(params: Mapping[str, Any]) -> ExperimentSpec:
    """Validated, frozen specs from a mapping of sections (already merged with overrides)."""
    _check_sections(params)
    params = _merge(params, ())
    _expand_paths(params)
    train_input = params.get("train_input", {})
    data = _build(DataSpec, "train_input", train_input)
    eval_data = _build(DataSpec, "eval_input", {**train_input, **params.get("eval_input", {})})
    model = params.get("model", {})
    topology = _build(
        UNetSpec, "model", {**model, "image_shape": data.image_shape, "num_classes": data.class_total}
    )
    return ExperimentSpec(
        data=data,
        eval_data=eval_data,
        model=topology,
        evaluation=_build(EvalSpec, "model", model),
        precision=_build(PrecisionSpec, "model", model),
        optimizer=_build(OptimizerSpec, "optimizer", params.get("optimizer", {})),
        run=_build(RunSpec, "runconfig", params.get("runconfig", {})),
        cerebras=_build(CerebrasSpec, "csconfig", params.get("csconfig", {})),
        cerebras_model=_build(CerebrasModelKnobs, "model", model),
        augmentation=_build(AugmentationSpec, "augmentation", params.get("augmentation", {})),
        loss=_build(LossSpec, "model", model),
        plan=_build(PlanRecord, "plan", params.get("plan") or {}),
    )


def build_invocation(params: Mapping[str, Any], experiment: ExperimentSpec) -> Invocation:
    """This call's flags from the `runconfig` section (already merged with the CLI's)."""
    invocation = _build(Invocation, "runconfig", params.get("runconfig") or {})
    invocation.check_against(experiment.run)
    return invocation


def preset_path(name: str = DEFAULT_PRESET) -> Path:
    return PRESETS_DIR / name


def load_config(
    source: str | os.PathLike | Mapping[str, Any] | None = None,
    runconfig: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
) -> tuple[ExperimentSpec, Invocation]:
    """YAML file (or mapping; default: the demo preset), then CLI runconfig values, then --set:
    the configuration and this call's flags."""
    if source is None:
        source = preset_path()
    params = dict(source) if isinstance(source, Mapping) else read_yaml(source)
    _check_sections(params)
    cli = [("runconfig", key, value) for key, value in (runconfig or {}).items() if value is not None]
    sets = [parse_override(item) for item in overrides]
    merged = _merge(params, cli + sets)
    experiment = build_experiment(merged)
    return experiment, build_invocation(merged, experiment)


def load_experiment(
    source: str | os.PathLike | Mapping[str, Any] | None = None,
    runconfig: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
) -> ExperimentSpec:
    """The configuration alone (see load_config)."""
    return load_config(source, runconfig, overrides)[0]


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def to_mapping(spec: ExperimentSpec) -> dict[str, dict[str, Any]]:
    """The resolved parameters by YAML section; loading it again gives an equal spec."""

    def section(*parts: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part in parts:
            out.update({k: _plain(v) for k, v in attrs.asdict(part, recurse=False).items() if k not in skip})
        return out

    mapping = {
        "train_input": section(spec.data),
        "model": section(spec.model, spec.evaluation, spec.precision, spec.cerebras_model, spec.loss,
                         skip=FROM_INPUT),
        "optimizer": section(spec.optimizer),
        "runconfig": section(spec.run),
        "csconfig": section(spec.cerebras),
        "augmentation": section(spec.augmentation),
    }
    if spec.plan != PlanRecord():
        mapping["plan"] = section(spec.plan)
    eval_diff = {
        k: v for k, v in section(spec.eval_data).items() if mapping["train_input"].get(k) != v
    }
    if eval_diff:
        mapping["eval_input"] = eval_diff
    return mapping


def write_resolved(spec: ExperimentSpec, model_dir: str | os.PathLike) -> Path:
    """Write `<model_dir>/params.yaml` atomically (a temp file renamed over the old one). The
    temporary name is the process's own: the workers of a multi-worker run write it at once."""
    target = Path(model_dir) / "params.yaml"
    temporary = target.with_suffix(f".yaml.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(yaml.safe_dump(to_mapping(spec), sort_keys=False), encoding="utf-8")
        os.replace(temporary, target)
    except OSError as error:
        raise ConfigError(f"{model_dir}: model_dir is not writable ({error.strerror or error})") from None
    return target
