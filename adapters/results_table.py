"""`eval/results.csv`: one row per evaluation of a run (its step, its split, every score), for a
spreadsheet or pandas. Rebuilt from the evaluations' own files (`eval/results-<step>.json` and
`eval/test/results-<step>.json`) each time one is written, so a resumed run, an `--mode eval` and
`unet report` on an older model_dir all give the whole table."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from unet_defects.adapters.atomic_files import write_text

TABLE_FILE = "results.csv"
LEADING = ("step", "split", "num_images", "checkpoint")


def _row(path: Path) -> dict | None:
    """The scalar scores of one evaluation file (nested blocks and lists are left to the JSON)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a file being replaced or not an evaluation: the next write rebuilds the table
    if not isinstance(found, dict) or "global_step" not in found:
        return None
    row = {"step": found["global_step"], "split": found.get("split", "eval")}
    for key, value in found.items():
        if key not in ("global_step", "split") and (value is None or isinstance(value, (int, float, str, bool))):
            row[key] = value
    return row


def _step_of(path: Path) -> int:
    return int(path.stem.rsplit("-", 1)[1]) if path.stem.rsplit("-", 1)[1].isdigit() else -1


def write_results_table(eval_dir: Path) -> str | None:
    """Rebuild `eval_dir/results.csv` from the evaluation files; None when there is none yet."""
    files = sorted((path for folder in (eval_dir, eval_dir / "test") for path in folder.glob("results-*.json")),
                   key=lambda path: (_step_of(path), path.parent != eval_dir))
    rows = [row for row in (_row(path) for path in files) if row is not None]
    if not rows:
        return None
    columns = list(LEADING) + [key for key in dict.fromkeys(k for row in rows for k in row) if key not in LEADING]
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=columns, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows({key: "" if value is None else value for key, value in row.items()} for row in rows)
    return write_text(eval_dir / TABLE_FILE, table.getvalue())
