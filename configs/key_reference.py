"""docs/keys.md, every configuration key with its default, generated from the loader's specs and
the descriptions in configs/key_docs.yaml, so a key cannot be added without its entry (a test
compares the file with what this renders, and fails on a key without a description).

    python -m unet_defects.configs.key_reference --write     # after adding a key and its entry
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import attrs
import yaml

from unet_defects.configs.loader import FROM_INPUT, SECTION_SPECS, known_keys
from unet_defects.domain.topology import UNetSpec

DESCRIPTIONS = Path(__file__).resolve().parent / "key_docs.yaml"
PAGE = Path(__file__).resolve().parents[1] / "docs" / "keys.md"
SHARED_SECTIONS = {"eval_input": "train_input"}  # eval_input takes train_input's keys
SECTION_NOTES = {
    "train_input": "The dataset and its input pipeline. `eval_input` takes the same keys; the ones it sets "
                   "apply to evaluation only, the rest are train_input's.",
    "model": "The network, its loss, its precision and its evaluation.",
    "optimizer": "The optimizer, its schedule and loss scaling.",
    "runconfig": "The run: steps, checkpoints, seeds and devices, and one call's flags.",
    "csconfig": "A Cerebras system.",
    "augmentation": "Training augmentation (`train_input.augment_data: False` turns all of it off).",
    "plan": "Written by `unet plan`; it changes nothing in a run.",
}


def documented_sections() -> tuple[str, ...]:
    return tuple(section for section in SECTION_SPECS if section not in SHARED_SECTIONS)


def read_descriptions(path: Path = DESCRIPTIONS) -> dict[str, dict[str, str]]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of sections")
    return {str(section): dict(keys or {}) for section, keys in loaded.items()}


def coverage_problems(descriptions: dict[str, dict[str, str]]) -> list[str]:
    """One line per loader key without a description and per description of no key."""
    problems = []
    for section in documented_sections():
        written = descriptions.get(section, {})
        problems += [f"{section}.{key}: no description in {DESCRIPTIONS.name}" for key in known_keys(section)
                     if not str(written.get(key) or "").strip()]
        problems += [f"{section}.{key}: described in {DESCRIPTIONS.name} but the loader has no such key"
                     for key in written if key not in known_keys(section)]
    problems += [f"{section}: described in {DESCRIPTIONS.name} but the loader has no such section"
                 for section in descriptions if section not in documented_sections()]
    return problems


def default_of(section: str, key: str) -> Any:
    """The value a missing key takes (attrs.NOTHING when the key is required)."""
    for spec in SECTION_SPECS[section]:
        if spec is UNetSpec and key in FROM_INPUT:
            continue  # read from train_input (DataSpec's field), as known_keys says
        for field in attrs.fields(spec):
            if field.name == key:
                default = field.default
                return default.factory() if isinstance(default, attrs.Factory) else default
    raise KeyError(f"{section}.{key}")


def _shown(value: Any) -> str:
    if value is attrs.NOTHING:
        return "required"
    if value is None:
        return "unset"
    if isinstance(value, (tuple, frozenset, set)):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return f"`{text}`" if text else "`''`"


def render(descriptions: dict[str, dict[str, str]]) -> str:
    lines = ["# Configuration keys", "",
             "Every key the loader accepts, section by section, with the value a missing key takes. This page is",
             "generated from the specs and `configs/key_docs.yaml` (`python -m unet_defects.configs.key_reference --write`);",
             "[configuration](configuration.md) tells how a config is loaded and checked.", ""]
    for section in documented_sections():
        keys = known_keys(section)
        lines += [f"## {section}", "", SECTION_NOTES[section], "", "| key | default | meaning |", "|---|---|---|"]
        for key in keys:
            text = " ".join(str(descriptions.get(section, {}).get(key, "")).split())
            lines.append(f"| `{key}` | {_shown(default_of(section, key))} | {text} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render docs/keys.md from the specs and key_docs.yaml.")
    parser.add_argument("--write", action="store_true", help=f"write {PAGE} instead of printing it")
    args = parser.parse_args(argv)
    descriptions = read_descriptions()
    problems = coverage_problems(descriptions)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    page = render(descriptions)
    if args.write:
        PAGE.write_text(page, encoding="utf-8")
        print(f"wrote {PAGE}")
    else:
        print(page, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
