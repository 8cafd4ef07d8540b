"""Training and evaluating at the images' own scale (`image_fit: crop`), in tf.data.

- An image smaller than the crop is mirror-padded (bottom and right, repeatedly if it is much
  smaller) until the crop fits; its mask is mirrored with it, so padded pixels are ordinary
  pixels of the loss, a defect near the border mirrored as a defect.
- `train_input.defect_sampling: p` draws that share of training crops from defective images,
  centred on one of their defect pixels chosen at random (MONAI's positive/negative crop
  sampling); the rest are uniform crops of any image. domain.sampling.centred_origin is the
  rule, tested on literal values; `centred_crop` is its twin in the graph.
- With several classes and `defect_sampling_by: class`, the p is split equally among the
  classes, each draw centred on a pixel of its class (nnU-Net's per-class foreground
  oversampling), so a rare class is cropped as often as a common one.
- A draw travels as (image, mask, centre): `centre` is UNIFORM, a class channel 0..K-1, or K
  for a defect pixel of any class.
- Whole-image evaluation mirror-pads each image to a multiple of the network's stride and
  marks the padding PAD_LABEL in its mask, which no score counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from unet_defects.adapters.tensorflow.padding import mirror_pad_to, mirror_pad_to_stride
from unet_defects.domain.data import DataSpec
from unet_defects.domain.masks import TRUTH_THRESHOLD
from unet_defects.domain.sampling import PAD_LABEL

# A draw's `centre` when its crop is uniform; a class channel k centres it on a pixel of class k,
# the channel count K on a defect pixel of any class.
UNIFORM = -1


def centred_crop(stacked: tf.Tensor, height: int, width: int, element_seed: tf.Tensor,
                 image_channels: int | None = None, centre: tf.Tensor | None = None) -> tf.Tensor:
    """A height x width crop of (H, W, C + K) whose channels after the image's C are the mask
    (one per class; the last one when `image_channels` is not given), centred on a random
    defect pixel of class `centre` (any class when it is None or K) and shifted inside the
    image (domain.sampling.centred_origin). No such pixel: a uniform crop, not an error."""
    shape = tf.shape(stacked)
    mask = stacked[..., -1:] if image_channels is None else stacked[..., image_channels:]
    defect_map = tf.reduce_max(mask, axis=-1)
    if centre is not None:  # one class's channel, unless `centre` is the channel count (any class)
        channels = mask.shape[-1]
        any_class = defect_map
        defect_map = tf.cond(centre < channels,
                             lambda: tf.gather(mask, tf.clip_by_value(centre, 0, channels - 1), axis=-1),
                             lambda: any_class)
    defects = tf.where(defect_map >= TRUTH_THRESHOLD)
    count = tf.shape(defects)[0]
    pick = tf.random.stateless_uniform([], seed=element_seed + 11, maxval=tf.maximum(count, 1), dtype=tf.int32)

    def centred():
        centre_pixel = tf.cast(tf.gather(defects, tf.minimum(pick, count - 1)), tf.int32)
        top = tf.clip_by_value(centre_pixel[0] - height // 2, 0, shape[0] - height)
        left = tf.clip_by_value(centre_pixel[1] - width // 2, 0, shape[1] - width)
        return stacked[top:top + height, left:left + width]

    return tf.cond(count > 0, centred, lambda: uniform_crop(stacked, height, width, element_seed))


def uniform_crop(stacked: tf.Tensor, height: int, width: int, element_seed: tf.Tensor) -> tf.Tensor:
    """A height x width crop of (H, W, C + K) at a seeded random place."""
    return tf.image.stateless_random_crop(stacked, tf.stack([height, width, tf.shape(stacked)[2]]),
                                          seed=element_seed + 7)


def crop(stacked: tf.Tensor, spec: DataSpec, element_seed: tf.Tensor, centre: tf.Tensor) -> tf.Tensor:
    """The training crop of one padded (image | mask) stack: centred on a defect (of the class
    `centre` names) or uniform (UNIFORM)."""
    stacked = mirror_pad_to(stacked, spec.height, spec.width)
    size = [spec.height, spec.width, spec.channels + len(spec.classes)]
    cropped = tf.cond(centre >= 0,
                      lambda: centred_crop(stacked, spec.height, spec.width, element_seed, spec.channels, centre),
                      lambda: uniform_crop(stacked, spec.height, spec.width, element_seed))
    cropped.set_shape(size)
    return cropped


def _centred_on(centre: int):
    """(image, mask) -> the draw (image, mask, centre)."""
    return lambda image, mask: (image, mask, tf.constant(centre, tf.int32))


def _mixed(uniform: tf.data.Dataset, defective: list[tf.data.Dataset], share: float, seed: int) -> tf.data.Dataset:
    """`share` of the draws from the defective streams (equally), the rest uniform. A stream that
    turns out empty ends (repeat of nothing), and the draws go on from the others."""
    if share <= 0 or not defective:
        return uniform
    weights = [share / len(defective)] * len(defective) + [1.0 - share]
    return tf.data.Dataset.sample_from_datasets(defective + [uniform], weights=weights, seed=seed,
                                                stop_on_empty_dataset=False)


def with_defect_sampling(dataset: tf.data.Dataset, share: float, seed: int, classes: int = 1) -> tf.data.Dataset:
    """Endless (image, mask, centre) draws: `share` of them from the defective images (to be
    cropped around a defect of any of the `classes`), the rest from every image. Without
    defective images, all uniform."""
    defective = dataset.filter(lambda image, mask: tf.reduce_max(mask) >= TRUTH_THRESHOLD).repeat()
    return _mixed(dataset.repeat().map(_centred_on(UNIFORM)), [defective.map(_centred_on(classes))] if share > 0 else [],
                  share, seed)


def with_defect_sampling_by_group(indexed: tf.data.Dataset, share: float, seed: int,
                                  groups: list[int], classes: int = 1) -> tf.data.Dataset:
    """As with_defect_sampling, with the defective draws shared equally among groups (defect
    types): elements are (index, (image, mask)) and groups[index] is the sample's group, -1
    for a sample with no defect. A rare type is then drawn as often as a common one."""
    ids = tf.constant(groups, tf.int32)
    uniform = indexed.repeat().map(lambda index, pair: _centred_on(UNIFORM)(*pair))
    streams = [
        indexed.filter(lambda index, pair, group=group: tf.gather(ids, index) == group).repeat()
        .map(lambda index, pair: _centred_on(classes)(*pair))
        for group in sorted(set(groups) - {-1})
    ]
    return _mixed(uniform, streams, share, seed)


def with_defect_sampling_by_class(indexed: tf.data.Dataset, share: float, seed: int, held: Sequence[Sequence[int]],
                                  classes: int, shuffle_buffer: int | None,
                                  load: Callable | None = None) -> tf.data.Dataset:
    """`share` of the draws split equally among the `classes` mask channels, the draw for
    channel k from an image that holds class k and centred on a pixel of it; the rest
    uniform. `indexed`: unshuffled (index, (image, mask)), or (index, file element) that
    `load` maps to (image, mask); held[index]: the sample's channels with a defect pixel (found
    when its files were checked, so no mask is read again to sort it).

    With `load` (images too many to cache), the streams choose and shuffle file names and
    decode only what they draw: a filter after decoding would decode every image to find a
    rare class's few. A class no sample holds gets no stream (a filter of nothing, repeated,
    scans every image to find none), and its share goes to the others. Each stream is shuffled
    with a seed of its own (`shuffle_buffer` None: not at all): streams of one shared shuffle
    take its reshuffle seeds in an order that races, and a run would not repeat."""

    def stream(chosen: tf.data.Dataset, salt: int, centre: int) -> tf.data.Dataset:
        if shuffle_buffer is not None:
            chosen = chosen.shuffle(shuffle_buffer, seed=seed + salt, reshuffle_each_iteration=True)
        if load is not None:
            chosen = chosen.map(lambda index, element: (index, load(*element)), num_parallel_calls=tf.data.AUTOTUNE)
        return chosen.repeat().map(lambda index, pair: _centred_on(centre)(*pair))

    streams = []
    for channel in range(classes):
        holds = [channel in channels for channels in held]
        if any(holds):
            members = tf.constant(holds)
            streams.append(stream(indexed.filter(lambda index, element, members=members: tf.gather(members, index)),
                                  channel + 1, channel))
    return _mixed(stream(indexed, 0, UNIFORM), streams, share, seed)


def pad_for_evaluation(stride: int):
    """Whole images mirror-padded to a multiple of the stride; the padding's mask is PAD_LABEL."""

    def pad(image, mask):
        padded = mirror_pad_to_stride(image, stride)
        extra = tf.shape(padded)[:2] - tf.shape(image)[:2]
        marked = tf.pad(mask, [[0, extra[0]], [0, extra[1]], [0, 0]], constant_values=PAD_LABEL)
        return padded, marked

    return pad
