"""The container's makers of dataset readers and writers: one reader per layout family of
domain/layouts.py (READERS), each importing its adapter only when that dataset is asked for
(TensorFlow loads lazily)."""

from __future__ import annotations

import logging

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.experiment import ExperimentSpec
from unet_defects.domain.layouts import layout

log = logging.getLogger("unet")


def dagm_reader(experiment: ExperimentSpec):
    from unet_defects.adapters.datasets.dagm import open_dagm

    return open_dagm(
        experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
        progress=lambda text: log.info("generating the synthetic dataset: %s", text),
        augmentation=experiment.augmentation, stride=experiment.model.stride,
    )


def severstal_reader(experiment: ExperimentSpec):
    from unet_defects.adapters.datasets.severstal import open_severstal

    return open_severstal(experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
                          experiment.augmentation, experiment.model.stride)


def image_folder_reader(experiment: ExperimentSpec):
    from unet_defects.adapters.datasets.image_folder import open_image_folder

    return open_image_folder(experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
                             experiment.augmentation, experiment.model.stride)


def annotations_reader(experiment: ExperimentSpec):
    from unet_defects.adapters.datasets.annotated import open_annotated

    return open_annotated(experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
                          experiment.augmentation, experiment.model.stride)


def tfrecords_reader(experiment: ExperimentSpec):
    from unet_defects.adapters.datasets.tfrecords import TfRecordsReader

    return TfRecordsReader(experiment.data.dataset, experiment.data, experiment.eval_data,
                           experiment.run.tf_random_seed, experiment.augmentation,
                           layout(experiment.data.dataset).mask_resize, experiment.model.stride)


def records_writer(experiment: ExperimentSpec):
    from unet_defects.adapters.datasets.tfrecords import TfRecordsWriter

    thresholded = layout(experiment.data.dataset).mask_threshold
    if len(experiment.data.classes) > 1:
        raise ConfigError("write-tfrecords: records hold one mask per image; train several defect classes "
                          "(train_input.defect_classes, defect_class_names) from the images themselves")
    return TfRecordsWriter(float(experiment.data.mask_threshold) if thresholded else None)


def external(experiment: ExperimentSpec):
    raise ConfigError(
        "train_input.dataset: 'external' means your code supplies the reader: "
        "container.dataset.override(providers.Object(your_reader))"
    )


# The reader of each layout's `reader` (domain/layouts.py): its family's, or the records reader.
READERS = {
    "external": external,
    "dagm": dagm_reader,
    "severstal": severstal_reader,
    "folder": image_folder_reader,
    "annotations": annotations_reader,
    "tfrecords": tfrecords_reader,
}


def reader_for(experiment: ExperimentSpec):
    """The dataset reader for train_input.dataset."""
    return READERS[layout(experiment.data.dataset).reader](experiment)


def sample_source(experiment: ExperimentSpec) -> str:
    """Which sample source the TFRecords writer gets: the dataset's files, or none."""
    return "files" if layout(experiment.data.dataset).reads_files else "none"


def random_batches(experiment: ExperimentSpec):
    from unet_defects.adapters.datasets.random_batches import RandomBatchReader

    return RandomBatchReader(experiment.data, seed=experiment.run.tf_random_seed or 0)
