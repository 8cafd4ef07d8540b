"""An evaluation's pictures in its folder (eval/, eval/test/), and what they were drawn from
(pictures.npz: the per-image figures, the pixel histograms and the worst images' tiles), so
that `unet report` draws them again without the model or the data."""

from __future__ import annotations

import io
import json
import logging
import math
import zipfile
from pathlib import Path

import numpy as np

from unet_defects.adapters.artifacts import TEST_FOLDER, split_folder
from unet_defects.adapters.atomic_files import write_bytes
from unet_defects.application.evaluation_pictures import EvaluationPictures, PartColumn
from unet_defects.application.values import SamplePicture
from unet_defects.application.worst_images import Tile
from unet_defects.domain.errors import DataError

log = logging.getLogger("unet")

PICTURE_DATA = "pictures.npz"
FORMAT_VERSION = 1


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _three(values: np.ndarray) -> tuple[int, int, int]:
    tp, fp, fn = (int(v) for v in values)
    return tp, fp, fn


def _column_arrays(prefix: str, column: PartColumn) -> dict[str, np.ndarray]:
    arrays = {f"{prefix}scores": np.asarray([_number(score) for score in column.scores], np.float64),
              f"{prefix}truth": np.asarray(column.truth, bool), f"{prefix}flagged": np.asarray(column.flagged, bool),
              f"{prefix}rule_flagged": np.asarray(column.rule_flagged, bool),
              f"{prefix}gate_flagged": np.asarray(column.gate_flagged, bool),
              f"{prefix}pixel_counts": np.asarray(column.pixel_counts, np.int64)}
    if column.histogram is not None:
        arrays[f"{prefix}histogram"] = np.asarray(column.histogram, np.int64)
    return arrays


def _column(prefix: str, facts: dict, arrays: dict) -> PartColumn:
    histogram = arrays.get(f"{prefix}histogram")
    return PartColumn(name=facts["name"], scores=tuple(_optional(v) for v in arrays[f"{prefix}scores"]),
                      truth=tuple(bool(v) for v in arrays[f"{prefix}truth"]),
                      flagged=tuple(bool(v) for v in arrays[f"{prefix}flagged"]), histogram=histogram,
                      pixel_threshold=facts["pixel_threshold"], part_threshold=facts["part_threshold"],
                      rule_flagged=tuple(bool(v) for v in arrays[f"{prefix}rule_flagged"]),
                      gate_flagged=tuple(bool(v) for v in arrays[f"{prefix}gate_flagged"]),
                      pixel_counts=_three(arrays[f"{prefix}pixel_counts"]))


def _tile_arrays(prefix: str, tile: Tile) -> dict[str, np.ndarray]:
    picture = tile.picture
    return {f"{prefix}image": np.asarray(picture.image, np.uint8), f"{prefix}truth": np.asarray(picture.truth, bool),
            f"{prefix}prediction": np.asarray(picture.prediction, bool)}


def save_pictures(pictures: EvaluationPictures, path: Path) -> str:
    columns = (pictures.part, *pictures.classes)
    facts = {"version": FORMAT_VERSION, "split": pictures.split, "step": pictures.step,
             "score_name": pictures.score_name, "decision": pictures.decision, "gated": pictures.gated,
             "columns": [{"name": c.name, "pixel_threshold": c.pixel_threshold, "part_threshold": c.part_threshold}
                         for c in columns],
             "tiles": {kind: [{"index": t.picture.index, "figure": t.figure, "name": t.name, "flagged": t.flagged}
                              for t in tiles]
                       for kind, tiles in (("worst_dice", pictures.worst_dice), ("false_alarms", pictures.false_alarms))}}
    arrays: dict[str, np.ndarray] = {"facts": np.frombuffer(json.dumps(facts).encode(), np.uint8)}
    for position, column in enumerate(columns):
        arrays.update(_column_arrays(f"column{position}_", column))
    for kind, tiles in (("worst_dice", pictures.worst_dice), ("false_alarms", pictures.false_alarms)):
        for position, tile in enumerate(tiles):
            arrays.update(_tile_arrays(f"{kind}{position}_", tile))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return write_bytes(path, buffer.getvalue())


def load_pictures(path: Path) -> EvaluationPictures:
    """What an evaluation's pictures were drawn from; one line naming the file for anything amiss."""
    try:
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
        facts = json.loads(arrays["facts"].tobytes().decode())
        if facts.get("version") != FORMAT_VERSION:
            raise DataError(f"{path}: written by another version (format {facts.get('version')}); evaluate again")
        columns = [_column(f"column{position}_", column, arrays) for position, column in enumerate(facts["columns"])]
        tiles = {kind: tuple(Tile(SamplePicture(index=t["index"], image=arrays[f"{kind}{p}_image"],
                                                truth=arrays[f"{kind}{p}_truth"],
                                                prediction=arrays[f"{kind}{p}_prediction"]),
                                  t["figure"], t["name"], t.get("flagged")) for p, t in enumerate(listed))
                 for kind, listed in facts["tiles"].items()}
        return EvaluationPictures(split=facts["split"], step=facts["step"], score_name=facts["score_name"],
                                  decision=facts["decision"], part=columns[0], classes=tuple(columns[1:]),
                                  worst_dice=tiles["worst_dice"], false_alarms=tiles["false_alarms"],
                                  gated=facts["gated"])
    except (OSError, ValueError, KeyError, IndexError, TypeError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a pictures file this version reads ({type(error).__name__}: {error}); "
                        "evaluate again") from None


class FilePictureWriter:
    """Draws an evaluation's pictures into its split's folder under <model_dir>/eval."""

    def __init__(self, model_dir: str) -> None:
        self._eval_dir = Path(model_dir) / "eval"

    def write(self, pictures: EvaluationPictures) -> list[str]:
        from unet_defects.adapters.evaluation_charts import draw_all

        folder = split_folder(self._eval_dir, pictures.split)
        return [*draw_all(pictures, folder), save_pictures(pictures, folder / PICTURE_DATA)]

    def redraw(self) -> list[str]:
        """Every split's pictures drawn again from what its last evaluation kept."""
        from unet_defects.adapters.evaluation_charts import draw_all

        written: list[str] = []
        for folder in (self._eval_dir, self._eval_dir / TEST_FOLDER):
            if not (folder / PICTURE_DATA).is_file():
                if (folder / "results.json").is_file():
                    log.warning("%s: no %s (evaluated by an older version): unet run --mode eval draws its pictures",
                                folder, PICTURE_DATA)
                continue
            try:
                written += draw_all(load_pictures(folder / PICTURE_DATA), folder)
            except DataError as error:  # one split's bad file leaves the other and the page
                log.warning("%s", error)
        return written
