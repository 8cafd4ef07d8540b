"""CommentedPlanFile: a plan as a params file a person reads: what was measured at the top, each
choice with its reason beside it, and nothing a run would still need to be told."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import yaml

from unet_defects.configs.loader import load_config
from unet_defects.domain.durations import format_duration
from unet_defects.domain.errors import ConfigError

COMMENT_COLUMN = 40


def _flow(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000).strip().removesuffix("...").strip()


def _is_flat(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(not isinstance(item, (list, tuple, dict)) for item in value)
    return not isinstance(value, dict)


def _comment_lines(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in text.splitlines()]


def render(plan) -> str:
    """The plan's text; loading it gives the planned configuration (checked when written)."""
    lines = [
        f"# Planned by `unet plan` on {time.strftime('%Y-%m-%d %H:%M')} for {plan.layout.dataset_path}, budget "
        f"{format_duration(plan.budget)}.",
        f"# Timed on this machine: {plan.timing.machine}, {plan.timing.precision}.",
        f"# Read: {plan.layout.description}.",
        "# What the dataset is like:",
        *[f"#   {line}" for line in plan.measured],
        "# Each choice says why. Run it with `unet run -p <this file>`; no other setting is needed.",
        "",
    ]
    by_section: dict[str, list] = {}
    for choice in plan.choices:
        by_section.setdefault(choice.section, []).append(choice)
    for section, choices in by_section.items():
        lines.append(f"{section}:")
        for choice in choices:
            lines += _entry(choice)
        lines.append("")
    return "\n".join(lines)


def _entry(choice) -> list[str]:
    """`key: value  # reason` for a flat value; the reason above a nested one."""
    if _is_flat(choice.value):
        entry = f"  {choice.key}: {_flow(choice.value)}"
        return [f"{entry:<{COMMENT_COLUMN}}  # {choice.reason}"]
    body = yaml.safe_dump({choice.key: choice.value}, default_flow_style=None, sort_keys=False, width=100)
    return _comment_lines(choice.reason, "  ") + [f"  {line}" for line in body.rstrip().splitlines()]


class CommentedPlanFile:
    def write(self, plan, output: str) -> str:
        target = Path(output)
        text = render(plan)
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(text, encoding="utf-8")
            load_config(temporary)  # a plan that does not load back is a bug: fail before it replaces anything
            os.replace(temporary, target)
        except OSError as error:
            raise ConfigError(f"{target}: cannot write the plan ({error.strerror or error})") from None
        finally:
            temporary.unlink(missing_ok=True)
        return str(target)
