"""The runtime and dataset-layout records, and what their consumers read from them."""

import ast
import importlib.util
from pathlib import Path

import pytest

from unet_defects import readers
from unet_defects.adapters.runtimes import catalog
from unet_defects.domain.augmentation import AugmentationSpec
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.layouts import ANNOTATION_LAYOUTS, FILE_LAYOUTS, LAYOUT_NAMES, LAYOUTS, layout

ROOT = Path(__file__).resolve().parents[2]


def test_each_format_has_one_writer_and_every_runner_runs_an_export_format():
    assert catalog.EXPORT_FORMATS == ("savedmodel", "onnx", "openvino", "tflite")
    assert len(set(catalog.EXPORT_FORMATS)) == len(catalog.RUNTIMES)
    assert all(set(runtime.runs) <= set(catalog.EXPORT_FORMATS) for runtime in catalog.RUNTIMES)
    assert catalog.runners_of("onnx") == ("onnxruntime", "openvino")
    assert catalog.INT8_FORMATS == ("onnx", "openvino", "tflite")
    assert [runtime.format for runtime in catalog.RUNTIMES if not runtime.converts] == ["savedmodel"]
    assert catalog.writer_of("tflite").fixed_size and catalog.writer_of("tflite").signature == (4, b"TFL3")


def test_unknown_runtime_names_are_one_line_listing_the_names():
    with pytest.raises(ConfigError, match=r"^--engine: unknown 'caffe'; expected one of: tensorflow, onnxruntime, "
                                          r"openvino, tflite$"):
        catalog.runtime("caffe")
    with pytest.raises(ConfigError, match=r"^--format: unknown 'caffe'; expected one of: savedmodel, onnx"):
        catalog.writer_of("caffe")


@pytest.mark.parametrize("runtime", catalog.RUNTIMES, ids=lambda runtime: runtime.name)
def test_every_runtime_module_defines_open_engine_and_convert_when_it_converts(runtime):
    """Read from the source: importing a runtime module may start TensorFlow."""
    source = Path(importlib.util.find_spec(runtime.module).origin)
    functions = {node.name for node in ast.parse(source.read_text()).body if isinstance(node, ast.FunctionDef)}
    assert "open_engine" in functions and ("convert" in functions) == runtime.converts


def test_every_layout_has_a_reader_and_a_one_line_lookup_error():
    assert LAYOUT_NAMES[0] == "external" and len(set(LAYOUT_NAMES)) == len(LAYOUTS)
    assert all(record.reader in readers.READERS for record in LAYOUTS)
    assert FILE_LAYOUTS == ("DAGM2007Dataset", "SeverstalDataset", "ImageFolderDataset", *ANNOTATION_LAYOUTS)
    assert ANNOTATION_LAYOUTS == ("CocoDataset", "LabelMeDataset", "LabelStudioDataset", "CvatDataset")
    assert [record.name for record in LAYOUTS if record.tfrecords] == [
        "DAGM2007TFRecordsDataset", "SeverstalTFRecordsDataset", "TFRecordsDataset"]
    with pytest.raises(ConfigError, match=r"^train_input.dataset: unknown value 'Caltech'; expected one of: "
                                          r"CocoDataset, .*, external$"):
        layout("Caltech")
    with pytest.raises(ConfigError, match="train_input.dataset: unknown value 'Caltech'"):
        DataSpec(dataset="Caltech", image_shape=(8, 8, 1))


def test_what_the_consumers_read_from_a_layout():
    assert layout("SeverstalTFRecordsDataset").mask_resize == "nearest"
    assert layout("DAGM2007TFRecordsDataset").mask_resize == "bilinear"
    assert AugmentationSpec().brightness_for("SeverstalTFRecordsDataset") == 0.2
    assert AugmentationSpec(brightness=0.1).brightness_for("SeverstalDataset") == 0.1
    assert [record.name for record in LAYOUTS if record.mask_threshold] == ["ImageFolderDataset"]
    with pytest.raises(ConfigError, match="validation_split: not supported for TFRecordsDataset yet; it holds images "
                                          "out of DAGM2007Dataset, SeverstalDataset, ImageFolderDataset, Coco"):
        DataSpec(dataset="TFRecordsDataset", image_shape=(8, 8, 1), validation_split=0.2)
