"""The dataset fingerprint: one image's facts on literal arrays, their summary, and small folders."""

import numpy as np
import pytest

from unet_defects.adapters.fingerprinting import FileFingerprinter, component_geometry, measure
from unet_defects.domain.class_fingerprint import LabelFacts
from unet_defects.domain.data import Sample
from unet_defects.domain.errors import DataError, DataProblems
from unet_defects.domain.fingerprint import ImageFacts, mask_levels, summarize


def test_mask_levels_tell_two_levels_from_labels_and_from_pictures():
    assert mask_levels(np.array([[0, 255], [0, 0]], np.uint8)) == ("binary", ())
    assert mask_levels(np.zeros((3, 3), np.uint8)) == ("empty", ())
    assert mask_levels(np.array([[0, 1], [2, 3]], np.uint8)) == ("labels", (1, 2, 3))
    smeared = np.zeros((100, 100), np.uint8)
    smeared[:, :50] = 255
    smeared[0, 40:50] = [3, 8, 40, 90, 130, 200, 250, 251, 252, 254]  # a JPEG-saved edge
    assert mask_levels(smeared) == ("binary", ())
    picture = (np.arange(10000).reshape(100, 100) % 256).astype(np.uint8)
    assert mask_levels(picture) == ("other", ())


def test_components_have_an_area_and_the_width_of_their_largest_disc():
    defects = np.zeros((20, 30), bool)
    defects[2, 1:21] = True  # a line one pixel thin, 20 long
    defects[8:15, 8:15] = True  # a 7 x 7 square
    areas, widths = component_geometry(defects)
    assert sorted(areas) == [20, 49]
    assert dict(zip(areas, widths)) == {20: 1.0, 49: 7.0}
    assert component_geometry(np.zeros((4, 4), bool)) == ((), ())


def test_one_image_facts_on_literal_arrays():
    image = np.full((10, 20), 100, np.uint8)
    image[:, ::2] = 120  # vertical stripes: steps along x only
    mask = np.zeros((10, 20), np.uint8)
    mask[4:6, 4:6] = 255
    image[4:6, 4:6] = 30  # a dark defect
    facts = measure(image, mask, "MT_Hole_1.png", kind="MT_Hole")
    assert (facts.height, facts.width, facts.defect_pixels, facts.component_areas) == (10, 20, 4, (4,))
    assert facts.mask == "binary" and facts.defective and facts.kind == "MT_Hole"
    assert facts.mean == pytest.approx(image.mean()) and facts.spread == pytest.approx(image.std())
    inside, outside = image[4:6, 4:6].mean(), np.delete(image.ravel(), [84, 85, 104, 105]).mean()
    assert facts.defect_contrast == pytest.approx((inside - outside) / image.std())
    assert facts.step_x > 5 * facts.step_y
    assert measure(image, None, "good.png").mask == "none"
    with pytest.raises(DataError, match="mask is 3x3 but its image is 20x10"):
        measure(image, np.zeros((3, 3), np.uint8), "bad.png")


def facts(name, height=100, width=100, defect=0, areas=(), widths=(), mean=128.0, spread=20.0, kind="",
          mask="binary", labels=(), step=(1.0, 1.0), high=None):
    high = high if high is not None else (max(labels) if labels else 255) if defect else 0
    return ImageFacts(name=name, height=height, width=width, mean=mean, spread=spread, mask=mask if defect else "empty",
                      defect_pixels=defect, component_areas=areas, component_widths=widths,
                      defect_contrast=-0.5 if defect else None, step_x=step[0], step_y=step[1], kind=kind,
                      mask_high=high, labels=tuple(LabelFacts(value=v, pixels=defect // len(labels)) for v in labels))


def test_the_summary_counts_shares_sizes_and_geometry():
    found = [facts(f"g{i}", height=100 + i, mean=100 + 10 * i) for i in range(6)]
    found += [facts("d1", defect=50, areas=(30, 20), widths=(3.0, 2.0), kind="hole"),
              facts("d2", defect=400, areas=(400,), widths=(15.0,), kind="hole")]
    fp = summarize(found)
    assert (fp.images, fp.defective_images, fp.components) == (8, 2, 3)
    assert fp.defective_share == 0.25
    assert fp.height.median == pytest.approx(np.median([100, 101, 102, 103, 104, 105, 100, 100]))
    assert fp.component_area.median == 30 and fp.component_width.maximum == 15.0
    assert fp.defect_pixel_share == pytest.approx(450 / sum(f.height * f.width for f in found))
    assert fp.defect_coverage.median == pytest.approx((0.005 + 0.04) / 2)
    assert fp.defect_contrast == pytest.approx(0.5)
    assert fp.types == {"hole": (2, 2)}
    means = np.array([f.mean for f in found])
    assert fp.exposure_variation == pytest.approx(means.std() / 20.0) and fp.exposure_varies
    assert not fp.directional and summarize([facts("a", step=(3.0, 1.0))]).directional
    assert fp.as_dict()["types"] == {"hole": {"images": 2, "defective": 2}}


def test_masks_that_cannot_be_read_as_defects_are_named_in_one_line():
    odd = summarize([facts("odd", defect=5, mask="other"), facts("ok")], where="data")
    assert odd.mask_kind == "other"
    assert odd.problem.startswith("data: 1 masks hold neither two levels nor class labels (the first: odd)")
    mixed = summarize([facts("a", defect=5, mask="labels", labels=(1, 2)), facts("b", defect=5)])
    assert "some masks are label images (a: values [1, 2]) and others two-level (b: 0 and 255)" in mixed.problem
    labels = summarize([facts("a", defect=5, mask="labels", labels=(1, 2)), facts("b", defect=3, mask="labels",
                                                                                 labels=(3,))])
    assert labels.problem is None and labels.label_values == (1, 2, 3) and labels.mask_kind == "labels"
    with pytest.raises(DataError, match="no images"):
        summarize([])


def test_the_defect_level_follows_the_masks_values_so_training_binarizes_them_as_the_fingerprint_did():
    image = np.full((8, 8), 100, np.uint8)
    mask = np.zeros((8, 8), np.uint8)
    mask[2:4, 2:4] = 1
    zero_one = [measure(image, mask, "a.png"), measure(image, np.zeros_like(mask), "b.png")]
    assert zero_one[0].defect_pixels == 4 and summarize(zero_one).defect_level == 1
    assert summarize([measure(image, mask * 255, "a.png")]).defect_level == 128
    one_class = mask * 2  # a label image holding class 2 only is two-level, and still a label image
    labels = mask.copy()
    labels[5:7, 5:7] = 3
    mixed = summarize([measure(image, labels, "l.png"), measure(image, one_class, "c.png")])
    assert mixed.problem is None and mixed.mask_kind == "labels" and mixed.label_values == (1, 2, 3)
    assert mixed.defect_level == 1


def write_folder(root, count=6, defective=2, mismatch=False):
    import imageio.v3 as iio

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    samples = []
    for index in range(count):
        image = np.full((32, 48), 90 + index, np.uint8)
        mask = np.zeros((32, 48), np.uint8)
        if index < defective:
            mask[10:14, 10:20] = 255
        iio.imwrite(root / "images" / f"part_{index}.png", image)
        iio.imwrite(root / "masks" / f"part_{index}.png", mask[:16] if mismatch and index == 0 else mask)
        samples.append(Sample(root / "images" / f"part_{index}.png", root / "masks" / f"part_{index}.png"))
    return samples


def test_a_folder_is_measured_file_by_file_with_progress(tmp_path):
    samples = write_folder(tmp_path)
    seen = []
    found = FileFingerprinter().measure(samples, [""] * len(samples), progress=lambda done, total: seen.append(done))
    assert seen == list(range(1, 7))
    fp = summarize(found)
    # a band 4 pixels high: its deepest pixel is 2 from the background, so 2 x 2 - 1 = 3 (even widths read one less)
    assert (fp.images, fp.defective_images, fp.component_area.median, fp.component_width.median) == (6, 2, 40, 3.0)
    assert fp.height.median == 32 and fp.width.median == 48


def test_a_folder_with_a_mask_of_another_size_names_the_file(tmp_path):
    samples = write_folder(tmp_path, mismatch=True)
    with pytest.raises(DataProblems, match="part_0.png: mask is 48x16 but its image is 48x32"):
        FileFingerprinter().measure(samples, [""] * len(samples))
