"""unet_export.json: what an export holds, read back strictly (an export is a contract)."""

from __future__ import annotations

from pathlib import Path

import attrs

from unet_defects.adapters.artifacts import read_json_object, write_json
from unet_defects.adapters.runtimes.catalog import EXPORT_FORMATS, REPOSITORY_FORMATS
from unet_defects.application.values import ExportManifest
from unet_defects.domain.errors import DataError

MANIFEST = "unet_export.json"
VERSION = 3  # 3 added class_id and the classifier gate; 2 reads as before
READABLE = (2, 3)
_FIELDS = {field.name for field in attrs.fields(ExportManifest)}
CLASS_KEYS = {"class_id", "name", "threshold", "min_area"}  # each entry of `classes` (several defect classes)
GATE_KEYS = {"threshold", "area_bar", "area_at"}  # a classifier gate, at the top (one class) or in each class's entry
_REQUIRED = {field.name for field in attrs.fields(ExportManifest) if field.default is attrs.NOTHING}
# The model_dir's drift reference (domain.drift_reference), copied in by the export; a manifest
# without it (older exports) reads as before.
DRIFT_KEY = "drift_reference"


def write_manifest(directory: str | Path, manifest: ExportManifest) -> str:
    path = Path(directory) / MANIFEST
    payload = attrs.asdict(manifest)
    if not payload["classes"]:  # one class: the manifest of before, which older versions read
        del payload["classes"]
    for key in ("class_id", "gate"):
        if payload[key] is None:
            del payload[key]
    write_json(path, payload)
    return str(path)


def _check_gate(gate: object, where: str) -> None:
    if gate is None:
        return
    if not isinstance(gate, dict) or set(gate) != GATE_KEYS:
        raise DataError(f"{where} must hold {', '.join(sorted(GATE_KEYS))}")
    bar, threshold, at = gate["area_bar"], gate["threshold"], gate["area_at"]
    counts = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1  # noqa: E731
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold < 1 or \
            (bar is not None and not counts(bar)) or \
            (at is not None and not (isinstance(at, list) and len(at) == 2 and all(counts(v) for v in at))):
        raise DataError(f"{where}: threshold in [0, 1), area_bar of 1 or more pixels (or null) and area_at "
                        f"[height, width] (or null), got {gate}")


def read_manifest(directory: str | Path) -> ExportManifest:
    """The manifest of an export folder; one line naming the file for anything amiss."""
    path = Path(directory) / MANIFEST
    if not Path(directory).is_dir():
        raise DataError(f"{directory}: no such export folder")
    if not path.is_file():
        raise DataError(f"{directory}: no {MANIFEST} (not an export made by unet export)")
    payload = read_json_object(path)
    version = payload.get("manifest_version", 1)
    if version not in READABLE:
        raise DataError(f"{path}: written by another version of unet-defects (manifest_version {version}, this "
                        f"one reads {', '.join(map(str, READABLE))}); export the model again")
    payload.pop(DRIFT_KEY, None)  # read_drift_payload's
    unknown = sorted(set(payload) - _FIELDS)
    if unknown:
        raise DataError(f"{path}: unknown keys {', '.join(unknown)}")
    missing = sorted(_REQUIRED - set(payload))
    if missing:
        raise DataError(f"{path}: missing keys {', '.join(missing)}")
    if payload["format"] in REPOSITORY_FORMATS:
        raise DataError(f"{path}: a {payload['format']} model repository's model, for that server (docs/serve.md); "
                        "export --format onnx to run it here")
    if payload["format"] not in EXPORT_FORMATS:
        raise DataError(f"{path}: unknown format {payload['format']!r}; expected one of: {', '.join(EXPORT_FORMATS)}")
    classes = payload.get("classes") or ()
    for index, entry in enumerate(classes):
        if not isinstance(entry, dict) or set(entry) - {"gate"} != CLASS_KEYS:
            raise DataError(f"{path}: classes[{index}] must hold {', '.join(sorted(CLASS_KEYS))} (and a gate)")
        _check_gate(entry.get("gate"), f"{path}: classes[{index}].gate")
    if classes and len({"gate" in entry for entry in classes}) > 1:
        raise DataError(f"{path}: a gate in some classes' entries and not in others; every class has one or none")
    for key in ("gate", "class_id"):
        if classes and payload.get(key) is not None:
            raise DataError(f"{path}: {key} is for one class; with classes, each entry holds its own")
    _check_gate(payload.get("gate"), f"{path}: gate")
    class_id = payload.get("class_id")
    if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int) or class_id < 1):
        raise DataError(f"{path}: class_id must be a class number of 1 or more, got {class_id!r}")
    try:
        return ExportManifest(**payload)
    except (TypeError, ValueError) as error:
        raise DataError(f"{path}: {str(error).splitlines()[0]}") from None


def read_drift_payload(directory: str | Path) -> tuple[str, object]:
    """(the manifest's path, its drift reference as JSON, None when it holds none)."""
    read_manifest(directory)  # the one check of the file
    path = Path(directory) / MANIFEST
    return str(path), read_json_object(path).get(DRIFT_KEY)


def carry_drift_payload(directory: str | Path, reference: dict) -> str:
    """The manifest just written (a Triton repository's too) written again with the drift reference in it."""
    path = Path(directory) / MANIFEST
    payload = read_json_object(path)
    payload[DRIFT_KEY] = reference
    write_json(path, payload)
    return str(path)
