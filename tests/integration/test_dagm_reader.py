import numpy as np
import pytest

from unet_defects.adapters.datasets.dagm import list_samples, open_dagm
from unet_defects.adapters.images import read_gray
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError, DataError

# Fraction of defect pixels of each real mask, as measured when the samples were collected.
REAL_MASK_FRACTIONS = {
    (1, "0595"): 0.0581, (1, "0616"): 0.0238, (1, "0626"): 0.0261,
    (2, "0576"): 0.0123, (2, "0578"): 0.0115, (2, "0579"): 0.0473,
    (4, "0576"): 0.0223, (4, "0602"): 0.0276, (4, "0624"): 0.0204,
}


def spec(path, **changes) -> DataSpec:
    values = dict(dataset="DAGM2007Dataset", dataset_path=str(path), image_shape=(64, 64, 1), class_id=1,
                  train_batch_size=2, eval_batch_size=2, normalize_data_method="zero_one", seed=1)
    values.update(changes)
    return DataSpec(**values)


@pytest.mark.parametrize("class_id, defective", [(1, 3), (2, 3), (4, 3)])
def test_real_samples_are_listed_with_their_masks(real_data, class_id, defective):
    samples = list_samples(spec(real_data / "dagm", class_id=class_id), "Train")
    assert len(samples) == 5 and sum(s.mask is not None for s in samples) == defective
    only = list_samples(spec(real_data / "dagm", class_id=class_id, only_defective_images=True), "Train")
    assert [s.mask is not None for s in only] == [True] * defective
    for sample in only:
        mask = read_gray(sample.mask)
        assert mask.shape == (512, 512) and set(np.unique(mask)) <= {0, 255}
        fraction = (mask > 0).mean()
        assert fraction == pytest.approx(REAL_MASK_FRACTIONS[(class_id, sample.image.stem)], abs=1e-4)


def test_real_samples_stream_resized_normalized_and_augmented(real_data):
    train = spec(real_data / "dagm", only_defective_images=True, shuffle=False, augment_data=False)
    reader = open_dagm(train, train)
    images, masks = next(iter(reader.training_stream()))
    assert images.shape == (2, 64, 64, 1) and masks.shape == (2, 64, 64, 1)
    assert 0.0 <= float(np.min(images)) and float(np.max(images)) <= 1.0
    assert 0.0 <= float(np.min(masks)) and float(np.max(masks)) <= 1.0
    # A mask resized with the image keeps its defect fraction (bilinear, so edges are soft).
    first = read_gray(list_samples(train, "Train")[0].mask) > 0
    assert float(np.mean(masks[0].numpy() >= 0.5)) == pytest.approx(first.mean(), abs=0.01)


def test_synthetic_data_reads_back_with_exact_masks(tiny_dagm):
    train = spec(tiny_dagm, image_shape=(32, 32, 1), shuffle=False, augment_data=False)
    reader = open_dagm(train, train)
    assert reader.training_size() == 12 and reader.evaluation_size() == 5
    batches = list(reader.evaluation_stream())
    assert [len(images) for images, _ in batches] == [2, 2, 1]  # every test image, remainder kept
    samples = list_samples(train, "Test")
    masks = np.concatenate([m.numpy() for _, m in batches])
    for sample, mask in zip(samples, masks):
        expected = read_gray(sample.mask) > 0 if sample.mask else np.zeros((32, 32), bool)
        np.testing.assert_array_equal(mask[..., 0] > 0.5, expected)


def test_augmentation_is_seeded_and_moves_image_and_mask_together(tiny_dagm):
    train = spec(tiny_dagm, image_shape=(32, 32, 1), only_defective_images=True, train_batch_size=4)
    first = next(iter(open_dagm(train, train).training_stream()))
    again = next(iter(open_dagm(train, train).training_stream()))
    np.testing.assert_array_equal(first[0].numpy(), again[0].numpy())
    plain = spec(tiny_dagm, image_shape=(32, 32, 1), only_defective_images=True, shuffle=False, augment_data=False)
    originals = {read_gray(s.image).tobytes(): read_gray(s.mask) > 0 for s in list_samples(plain, "Train")}
    for image, mask in zip(*first):
        raw = np.rint(image.numpy()[..., 0] * 255).astype(np.uint8)
        # Undo the flip / rotation by trying all of them: the mask must follow the image.
        matches = [
            np.array_equal(mask.numpy()[..., 0] > 0.5, transform(originals[candidate.tobytes()]))
            for candidate, transform in _inverse_views(raw)
            if candidate.tobytes() in originals
        ]
        assert matches and all(matches)


def _inverse_views(raw):
    for k in range(4):
        for flip in (False, True):
            view = np.rot90(raw, -k)
            view = np.fliplr(view) if flip else view
            yield view, (lambda m, k=k, flip=flip: np.rot90(np.fliplr(m) if flip else m, k))


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda root: None, "class folder not found"),
        (lambda root: (root / "Class1" / "Train" / "0007.PNG").unlink(), "0007.PNG is listed but"),
        (lambda root: (root / "Class1" / "Train" / "0007.PNG").write_bytes(b"\x89PNG\r\n"), "0007.PNG: cannot read image"),
    ],
)
def test_broken_datasets_fail_with_one_line_naming_the_file(tmp_path, tiny_dagm, breakage, message):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(tiny_dagm, root)
    class_id = 3 if "class folder" in message else 1
    breakage(root)
    train = spec(root, image_shape=(32, 32, 1), class_id=class_id)
    with pytest.raises(DataError) as caught:
        open_dagm(train, train).training_size()
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_missing_dataset_path_and_class_id(tmp_path):
    with pytest.raises(DataError, match="dataset_path does not exist"):
        list_samples(spec(tmp_path / "nowhere"), "Train")
    with pytest.raises(ConfigError, match="class_id: required"):
        list_samples(spec(tmp_path, class_id=None), "Train")


def test_synthetic_dataset_is_generated_once_then_reused(tmp_path):
    synthetic = {"class_ids": [1], "train_images": 3, "test_images": 2, "image_size": 32, "seed": 1}
    train = spec(tmp_path / "data", image_shape=(32, 32, 1), synthetic=synthetic)
    open_dagm(train, train)
    labels = tmp_path / "data" / "Class1" / "Train" / "Label" / "Labels.txt"
    stamp = labels.stat().st_mtime_ns
    open_dagm(train, train)
    assert labels.stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError, match="unknown key"):
        open_dagm(spec(tmp_path / "d2", synthetic={"sizes": 3}), train)
