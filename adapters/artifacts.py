"""Files a run leaves for its user: eval results as JSON, sample pictures, predicted masks."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from unet_defects.adapters import summary_tags
from unet_defects.adapters.atomic_files import write_json_lines, write_text
from unet_defects.adapters.images import (
    class_overlay,
    colour_mask,
    overlay,
    probability_picture,
    triptych,
    write_png,
)
from unet_defects.adapters.results_table import write_results_table
from unet_defects.domain.errors import DataError
from unet_defects.domain.masks import to_uint8_mask

SAMPLE_LABELS = ("best", "worst", "typical")
TEST_FOLDER = "test"


def split_folder(eval_dir: Path, split: str) -> Path:
    """eval/ for the split that chooses checkpoints, eval/test/ for the test images scored apart."""
    return eval_dir / TEST_FOLDER if split == "test" else eval_dir


def write_json(path: Path, payload: dict) -> None:
    write_text(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def read_json_object(path: Path) -> dict:
    """A file holding one JSON object; one line naming the file for anything amiss."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{path}: not JSON ({str(error).splitlines()[0]})") from None
    if not isinstance(payload, dict):
        raise DataError(f"{path}: expected a JSON object")
    return payload


def sample_panels(sample) -> dict[str, np.ndarray]:
    """The pictures TensorBoard shows for one sample, each (H, W, 3) uint8."""
    gray = np.repeat(np.asarray(sample.image, np.uint8)[..., None], 3, axis=2)
    return {
        "input": gray,
        "true_mask": colour_mask(sample.truth).astype(np.uint8),
        "predicted_mask": colour_mask(sample.prediction).astype(np.uint8),
        "true_overlay": overlay(sample.image, sample.truth),
        "predicted_overlay": overlay(sample.image, sample.prediction),
    }


class FileArtifactStore:
    """Writes under `<model_dir>/eval/` and into prediction output folders."""

    def __init__(self, model_dir: str | os.PathLike, image_summaries: bool = False) -> None:
        self._eval_dir = Path(model_dir) / "eval"
        self._image_summaries = image_summaries

    def _folder(self, result) -> Path:
        return split_folder(self._eval_dir, getattr(result, "split", "eval"))

    def write_evaluation(self, result) -> list[str]:
        folder = self._folder(result)
        folder.mkdir(parents=True, exist_ok=True)
        payload = result.as_dict()
        latest = folder / "results.json"
        by_step = folder / f"results-{result.step}.json"
        write_json(by_step, payload)
        write_json(latest, payload)
        written = [str(latest), str(by_step)]
        table = write_results_table(self._eval_dir)
        written += [table] if table else []
        self._write_scalars(result, folder)
        if result.samples:
            samples = folder / "samples"
            samples.mkdir(exist_ok=True)
            for label, sample in zip(SAMPLE_LABELS, result.samples):
                path = samples / f"step-{result.step}-{label}-image{sample.index:04d}.png"
                write_png(path, triptych(sample.image, sample.truth, sample.prediction))
                written.append(str(path))
        return written

    def write_final(self, validation, test) -> str:
        self._eval_dir.mkdir(parents=True, exist_ok=True)
        target = self._eval_dir / "results.json"
        write_json(target, {**test.as_dict(), "validation": validation.as_dict(), "test": test.as_dict()})
        return str(target)

    def write_table(self) -> str | None:
        """eval/results.csv from the evaluations already written (unet report on any model_dir)."""
        return write_results_table(self._eval_dir)

    def _write_scalars(self, result, folder: Path) -> None:
        """The scores as TensorBoard scalars under <model_dir>/eval (a test split's in eval/test)."""
        import tensorflow as tf

        writer = tf.summary.create_file_writer(str(folder))
        with writer.as_default(step=result.step):
            for name, value in result.scores.as_dict().items():
                if value is not None:  # image_AUROC needs defective and good images
                    tf.summary.scalar(summary_tags.score_tag(name), value)
            for threshold, scores in result.threshold_scores:
                for name, value in scores.as_dict().items():
                    if value is not None:
                        tf.summary.scalar(summary_tags.threshold_tag(threshold, name), value)
            if self._image_summaries:
                for label, sample in zip(SAMPLE_LABELS, result.samples):
                    for kind, picture in sample_panels(sample).items():
                        tf.summary.image(f"samples/{label}/{kind}", picture[None], step=result.step)
        writer.close()

    def write_prediction(
        self, output: str, name: str, image: np.ndarray, probabilities: np.ndarray, decision: np.ndarray,
        save_probabilities: bool = False, class_ids: Sequence[int] = (),
    ) -> list[str]:
        self.check_output(output)  # the store's own guard, for callers that do not check first
        folder = Path(output)
        folder.mkdir(parents=True, exist_ok=True)
        stem = Path(name).stem
        if class_ids:
            return self._write_classes(folder, stem, image, probabilities, decision, class_ids, save_probabilities)
        mask_path = folder / f"{stem}_mask.png"
        overlay_path = folder / f"{stem}_overlay.png"
        write_png(mask_path, to_uint8_mask(decision))
        write_png(overlay_path, overlay(image, decision))
        written = [str(mask_path), str(overlay_path)]
        if save_probabilities:
            probability_path = folder / f"{stem}_probability.png"
            write_png(probability_path, probability_picture(probabilities))
            written.append(str(probability_path))
        return written

    @staticmethod
    def _write_classes(folder: Path, stem: str, image: np.ndarray, probabilities: np.ndarray, decision: np.ndarray,
                       class_ids: Sequence[int], save_probabilities: bool) -> list[str]:
        """Several classes: `<stem>_mask_<class id>.png` each, one overlay with a colour per class."""
        written = []
        for channel, class_id in enumerate(class_ids):
            path = folder / f"{stem}_mask_{class_id}.png"
            write_png(path, to_uint8_mask(decision[..., channel]))
            written.append(str(path))
            if save_probabilities:
                picture = folder / f"{stem}_probability_{class_id}.png"
                write_png(picture, probability_picture(probabilities[..., channel]))
                written.append(str(picture))
        overlay_path = folder / f"{stem}_overlay.png"
        write_png(overlay_path, class_overlay(image, decision))
        return [*written, str(overlay_path)]

    def check_output(self, output: str) -> None:
        if Path(output).exists() and not Path(output).is_dir():
            raise DataError(f"{output}: exists and is not a folder; name a folder for --output")

    def write_lines(self, output: str, name: str, rows: Sequence[dict]) -> str:
        """One JSON object per line, written whole then moved into place."""
        target = Path(output) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return write_json_lines(target, rows)

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
