"""The evaluator's pixel histograms, counted in the TensorFlow graph, are numpy's
(domain.curves.pixel_histogram) on the same probabilities: padding and ignored labels left out,
each class and each image apart."""

import numpy as np
import tensorflow as tf

from unet_defects.adapters.tensorflow.evaluator import _histograms
from unet_defects.domain.curves import pixel_histogram


def test_the_graph_counts_what_numpy_counts_per_image_and_class():
    rng = np.random.default_rng(5)
    logits = rng.normal(0, 3, (3, 20, 24, 2)).astype(np.float32)
    logits[0, 0, 0, 0] = 50.0  # a probability of 1.0 goes in the last bin
    truth = rng.random((3, 20, 24, 2)) < 0.2
    keep = rng.random((3, 20, 24, 2)) > 0.15  # padding and ignored labels
    keep[2, 15:] = False  # an image's padded rows
    counted = _histograms(tf.constant(logits), tf.constant(truth), tf.constant(keep)).numpy()
    assert counted.shape == (3, 2, 2, 100)
    probabilities = 1 / (1 + np.exp(-logits.astype(np.float64)))
    for image in range(3):
        for klass in range(2):
            expected = pixel_histogram(probabilities[image, ..., klass], truth[image, ..., klass],
                                       keep[image, ..., klass])
            # float32 rounding may move a probability that sits on a bin edge by one bin
            assert np.abs(counted[image, klass] - expected).sum() <= 2
            assert counted[image, klass].sum() == keep[image, ..., klass].sum()
            assert counted[image, klass, 1].sum() == (truth & keep)[image, ..., klass].sum()
