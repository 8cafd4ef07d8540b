"""The container's makers of dataset readers and writers: one per `train_input.dataset`,
each importing its adapter only when that dataset is asked for (TensorFlow loads lazily)."""

from __future__ import annotations

import logging

from domain.errors import ConfigError
from domain.experiment import ExperimentSpec

log = logging.getLogger("unet")


def dagm_reader(experiment: ExperimentSpec):
    from adapters.datasets.dagm import open_dagm

    return open_dagm(
        experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
        progress=lambda text: log.info("generating the synthetic dataset: %s", text),
        augmentation=experiment.augmentation, stride=experiment.model.stride,
    )


def severstal_reader(experiment: ExperimentSpec):
    from adapters.datasets.severstal import open_severstal

    return open_severstal(experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
                          experiment.augmentation, experiment.model.stride)


def image_folder_reader(experiment: ExperimentSpec):
    from adapters.datasets.image_folder import open_image_folder

    return open_image_folder(experiment.data, experiment.eval_data, experiment.run.tf_random_seed,
                             experiment.augmentation, experiment.model.stride)


def tfrecords_reader(experiment: ExperimentSpec):
    from adapters.datasets.tfrecords import TfRecordsReader

    mask_method = "nearest" if experiment.data.dataset.startswith("Severstal") else "bilinear"
    return TfRecordsReader(experiment.data.dataset, experiment.data, experiment.eval_data,
                           experiment.run.tf_random_seed, experiment.augmentation, mask_method,
                           experiment.model.stride)


def records_writer(experiment: ExperimentSpec):
    from adapters.datasets.tfrecords import TfRecordsWriter

    folder = experiment.data.dataset == "ImageFolderDataset"
    return TfRecordsWriter(float(experiment.data.mask_threshold) if folder else None)


def external():
    raise ConfigError(
        "train_input.dataset: 'external' means your code supplies the reader: "
        "container.dataset.override(providers.Object(your_reader))"
    )


def random_batches(experiment: ExperimentSpec):
    from adapters.datasets.random_batches import RandomBatchReader

    return RandomBatchReader(experiment.data, seed=experiment.run.tf_random_seed or 0)
