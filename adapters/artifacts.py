"""Files a run leaves for its user: eval results as JSON, sample pictures, predicted masks."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from adapters.images import list_images, overlay, read_gray, triptych, write_png
from domain.masks import to_uint8_mask

SAMPLE_LABELS = ("best", "worst", "typical")


def write_json(path: Path, payload: dict) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


class FileArtifactStore:
    """Writes under `<model_dir>/eval/` and into prediction output folders."""

    def __init__(self, model_dir: str | os.PathLike) -> None:
        self._eval_dir = Path(model_dir) / "eval"

    def write_evaluation(self, result) -> list[str]:
        self._eval_dir.mkdir(parents=True, exist_ok=True)
        payload = result.as_dict()
        latest = self._eval_dir / "results.json"
        by_step = self._eval_dir / f"results-{result.step}.json"
        write_json(by_step, payload)
        write_json(latest, payload)
        written = [str(latest), str(by_step)]
        self._write_scalars(result)
        if result.samples:
            samples = self._eval_dir / "samples"
            samples.mkdir(exist_ok=True)
            for label, sample in zip(SAMPLE_LABELS, result.samples):
                path = samples / f"step-{result.step}-{label}-image{sample.index:04d}.png"
                write_png(path, triptych(sample.image, sample.truth, sample.prediction))
                written.append(str(path))
        return written

    def _write_scalars(self, result) -> None:
        """The scores as TensorBoard scalars under <model_dir>/eval, beside the training loss."""
        import tensorflow as tf

        writer = tf.summary.create_file_writer(str(self._eval_dir))
        with writer.as_default(step=result.step):
            for name, value in result.scores.as_dict().items():
                tf.summary.scalar(f"eval/{name}", value)
            for threshold, scores in result.threshold_scores:
                for name, value in scores.as_dict().items():
                    tf.summary.scalar(f"eval_at_{threshold:g}/{name}", value)
        writer.close()

    def write_prediction(
        self, output: str, name: str, image: np.ndarray, probabilities: np.ndarray, decision: np.ndarray,
        save_probabilities: bool = False,
    ) -> list[str]:
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        stem = Path(name).stem
        mask_path = folder / f"{stem}_mask.png"
        overlay_path = folder / f"{stem}_overlay.png"
        write_png(mask_path, to_uint8_mask(decision))
        write_png(overlay_path, overlay(image, decision))
        written = [str(mask_path), str(overlay_path)]
        if save_probabilities:
            # 16 bits keep the probability to 1/65535, enough to re-threshold later.
            probability_path = folder / f"{stem}_probability.png"
            write_png(probability_path, np.rint(np.clip(probabilities, 0, 1) * 65535).astype(np.uint16))
            written.append(str(probability_path))
        return written

    def write_submission(self, path: str, rows: Sequence[tuple[str, int, str]]) -> str:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        with open(temporary, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["ImageId", "ClassId", "EncodedPixels"])
            writer.writerows(rows)
        os.replace(temporary, target)
        return str(target)


class FileImageSource:
    """Image files named directly or found in folders (not recursive)."""

    def list(self, inputs: Sequence[str]) -> list[str]:
        files: list[str] = []
        for item in inputs:
            files += [str(p) for p in list_images(item)]
        return files

    def read(self, name: str) -> np.ndarray:
        return read_gray(name)
