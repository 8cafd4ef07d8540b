"""`unet review`'s ranking as files a person and a script read: review.json (what ranked them, and
every image's row) and review.csv (the rows, for a spreadsheet)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from unet_defects.adapters.atomic_files import write_text


class ReviewFiles:
    def write(self, output: str, name: str, rows: Sequence[dict], about: dict) -> list[str]:
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        table = io.StringIO()
        columns = list(rows[0]) if rows else ["rank", "file"]
        writer = csv.DictWriter(table, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return [write_text(folder / f"{name}.json", json.dumps({**about, "images": list(rows)}, indent=1)),
                write_text(folder / f"{name}.csv", table.getvalue())]
