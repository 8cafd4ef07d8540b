"""Several defect types from label masks: each type measured apart, classes.txt, the masks that
must not be trained on, and what the plan sets for them."""

import attrs
import numpy as np
import pytest

from unet_defects.adapters.datasets.survey import FolderSurvey
from unet_defects.adapters.fingerprinting import label_facts, measure
from unet_defects.domain.class_fingerprint import parse_class_names
from unet_defects.domain.errors import DataError
from unet_defects.domain.fingerprint import summarize
from unet_defects.domain.planning import DEFECT_SAMPLING, DataSplit, draft
from unet_defects.domain.run_duration import MIN_CURVE_IMAGES, curve_images

LAYOUT = DataSplit(dataset_path="/data/parts", test_folder=True, description="train/ and test/")
IMAGE = np.full((40, 40), 100, np.uint8)


def label_mask(*regions):
    """A 40 x 40 label mask: (value, rows, columns) rectangles."""
    mask = np.zeros((40, 40), np.uint8)
    for value, rows, columns in regions:
        mask[rows, columns] = value
    return mask


def three_types(count=30):
    """`count` images: a wide blob of type 1, a 2-px line of type 2, a 5-px band of type 3, one
    type per image in turn, and every fourth image good."""
    shapes = {1: (slice(5, 25), slice(5, 25)), 2: (slice(10, 12), slice(2, 38)), 3: (slice(10, 15), slice(2, 38))}
    facts = []
    for index in range(count):
        kind = index % 4
        mask = label_mask((kind, *shapes[kind])) if kind else np.zeros((40, 40), np.uint8)
        facts.append(measure(IMAGE, mask, f"p{index}.png"))
    return facts


def test_each_value_of_a_label_mask_is_measured_apart_with_the_pixels_that_border_another_label():
    mask = label_mask((1, slice(0, 10), slice(0, 10)), (2, slice(0, 10), slice(10, 12)), (3, slice(30, 31),
                                                                                          slice(0, 40)))
    found = {entry.value: entry for entry in label_facts(mask)}
    assert [found[v].pixels for v in (1, 2, 3)] == [100, 20, 40]
    assert found[1].bordering == 10 and found[2].bordering == 10  # the shared edge, one column each
    assert found[3].bordering == 0 and found[3].component_widths == (1.0,)  # a thin line borders the background only
    assert label_facts(label_mask((255, slice(0, 4), slice(0, 4)))) == ()  # a 0/255 mask is no label image


def test_types_spread_over_one_type_masks_make_a_labelled_dataset_measured_type_by_type():
    fp = summarize(three_types(), where="parts")
    assert fp.mask_kind == "labels" and fp.label_values == (1, 2, 3) and fp.problem is None
    assert [c.name for c in fp.classes] == ["class_1", "class_2", "class_3"]
    assert [c.images for c in fp.classes] == [8, 7, 7]
    assert [c.component_width.median for c in fp.classes] == [19.0, 1.0, 5.0]
    named = summarize(three_types(), names=("hole", "crack", "band"))
    assert [c.name for c in named.classes] == ["hole", "crack", "band"] and named.several_classes
    assert named.as_dict()["classes"][1]["name"] == "crack"
    binary = summarize([measure(IMAGE, label_mask((1, slice(2, 9), slice(2, 9))), "a.png"),
                        measure(IMAGE, label_mask((255, slice(2, 9), slice(2, 9))), "b.png")])
    assert binary.mask_kind == "binary" and binary.classes == ()  # 0/1 and 0/255: one defect, as always


def test_a_label_value_that_classes_txt_does_not_name_is_one_line_naming_the_file():
    fp = summarize(three_types(), names=("hole", "crack"), names_file="/d/classes.txt")
    assert fp.problem == "p3.png: label value 3 is not named in /d/classes.txt (2 names, for values 1..2)"
    assert fp.classes == ()


def test_label_masks_saved_lossily_are_refused_with_the_file_and_its_values():
    smeared = []
    for index in range(4):  # a 0/3 square whose edge a JPEG smeared into 1 and 2
        mask = label_mask((1, slice(9, 21), slice(9, 21)), (2, slice(10, 20), slice(10, 20)),
                          (3, slice(11, 19), slice(11, 19)))
        smeared.append(measure(IMAGE, mask, f"s{index}.jpg"))
    fp = summarize(smeared)
    assert fp.problem.startswith("s0.jpg: a label mask that looks saved lossily (values [1, 2, 3]")
    assert fp.problem.endswith("save label masks losslessly (PNG)")


def test_classes_txt_names_every_line_once():
    assert parse_class_names("\ufeffhole\ncrack \n\n", "c.txt") == ("hole", "crack")
    with pytest.raises(DataError, match="c.txt: line 2 is empty"):
        parse_class_names("hole\n\ncrack\n", "c.txt")
    with pytest.raises(DataError, match="c.txt: line 3 repeats the name 'hole' of line 1"):
        parse_class_names("hole\ncrack\nhole\n", "c.txt")
    with pytest.raises(DataError, match="c.txt: names no defect type"):
        parse_class_names("\n", "c.txt")
    several = summarize(three_types()[:0] + [measure(IMAGE, label_mask((255, slice(1, 5), slice(1, 5))), "a.png")],
                        names=("hole", "crack"), names_file="c.txt")
    assert several.problem.startswith("c.txt: names 2 defect types, but the masks hold one")


def folder(root, names=None, where="."):
    import imageio.v3 as iio

    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
    for index in range(4):
        iio.imwrite(root / "images" / f"p{index}.png", IMAGE)
        iio.imwrite(root / "masks" / f"p{index}.png", label_mask((index % 3, slice(2, 8), slice(2, 8))))
    if names is not None:
        (root / where).mkdir(exist_ok=True)
        (root / where / "classes.txt").write_text(names)


def test_the_survey_reads_classes_txt_from_the_dataset_folder_or_beside_train_masks(tmp_path):
    folder(tmp_path / "one", "hole\ncrack\n")
    _, layout = FolderSurvey().training_samples(str(tmp_path / "one"), keep=0.5)
    assert layout.class_names == ("hole", "crack") and layout.class_names_file.endswith("one/classes.txt")
    folder(tmp_path / "split" / "train", "a\nb\n")
    folder(tmp_path / "split" / "test")
    _, layout = FolderSurvey().training_samples(str(tmp_path / "split"))
    assert layout.class_names == ("a", "b") and layout.class_names_file.endswith("train/classes.txt")
    folder(tmp_path / "bad", "a\na\n")
    with pytest.raises(DataError, match=r"bad/classes.txt: line 2 repeats the name 'a'"):
        FolderSurvey().training_samples(str(tmp_path / "bad"), keep=0.5)
    folder(tmp_path / "none")
    assert FolderSurvey().training_samples(str(tmp_path / "none"), keep=0.5)[1].class_names is None


def chosen(plan_draft, section, key):
    return plan_draft.mapping()[section][key]


def reason(plan_draft, section, key):
    return next(c.reason for c in plan_draft.choices if (c.section, c.key) == (section, key))


def test_a_labelled_dataset_plans_one_class_a_type_sized_and_sampled_for_the_thinnest():
    facts = three_types(120)
    for index in range(0, 120, 4):  # the wide type 1 wider still: the pooled median is wide
        facts[index + 1] = measure(IMAGE, label_mask((1, slice(0, 40), slice(0, 40))), f"w{index}.png")
    fp = summarize(facts, names=("hole", "crack", "band"))
    planned = draft(fp, LAYOUT)
    assert chosen(planned, "train_input", "defect_class_names") == ["hole", "crack", "band"]
    assert "`defect_class_names: null` merges them" in reason(planned, "train_input", "defect_class_names")
    assert chosen(planned, "train_input", "defect_sampling") == DEFECT_SAMPLING
    assert chosen(planned, "train_input", "defect_sampling_by") == "class"
    # the crack (1 px) keeps the images' scale, though most defect components are wide
    assert chosen(planned, "model", "input_downscale") == 1
    assert reason(planned, "model", "input_downscale").startswith("the thinnest type's (crack) median defect")
    # each type is missing from most images: a head per type, decided per type
    assert chosen(planned, "model", "classifier_head") is True
    assert "images without" in reason(planned, "model", "classifier_head")
    assert "Dice is computed per type" in reason(planned, "model", "loss")
    one = draft(summarize(three_types(120)[:0] + [measure(IMAGE, label_mask((1, slice(2, 9), slice(2, 9))),
                                                          f"a{i}.png") for i in range(30)]), LAYOUT)
    assert "defect_class_names" not in one.mapping()["train_input"]
    assert chosen(one, "train_input", "defect_sampling_by") == "image"


def test_the_learning_curve_scores_a_sample_sized_to_a_tenth_of_the_budget():
    # 8 evaluations of 600 images at 0.05 s would take 240 s, 40 % of a 10-minute budget
    assert curve_images(600, 0.05, 600) == int((0.1 * 600 / 8 - 3.0) / 0.05)
    assert curve_images(600, 0.01, 300) == 300  # all of them fit
    assert curve_images(60, 1.0, 300) == MIN_CURVE_IMAGES  # never fewer than a readable curve needs
    assert curve_images(60, 1.0, 20) == 20


def test_one_lossy_mask_among_clean_ones_is_named_and_a_type_nested_in_another_is_not_noise():
    clean = three_types(12)
    smeared = label_mask((1, slice(9, 21), slice(9, 21)), (2, slice(10, 20), slice(10, 20)),
                         (3, slice(11, 19), slice(11, 19)))  # 0 and 3, their edge smeared into 1 and 2
    found = summarize(clean + [measure(IMAGE, smeared, "x.png", mask_file="/d/masks/x.png")])
    assert found.problem.startswith("/d/masks/x.png: a label mask that looks saved lossily (values [1, 2, 3]")
    specks = label_mask((1, slice(5, 25), slice(5, 25)))
    specks[5, 5] = specks[24, 24] = 2  # a codec's overshoot: single pixels of 2 on the region of 1
    assert "looks saved lossily" in summarize(clean + [measure(IMAGE, specks, "s.png")]).problem
    nested = [measure(IMAGE, label_mask((1, slice(5, 30), slice(5, 30)), (2, slice(15, 16), slice(0, 35))),
                      f"n{i}.png") for i in range(6)]  # a one-pixel crack across a stain, out to the background
    assert summarize(nested).problem is None and summarize(nested).label_values == (1, 2)


def test_one_type_label_masks_beside_0_255_masks_are_refused_and_0_1_beside_0_255_are_not():
    two = measure(IMAGE, label_mask((2, slice(2, 9), slice(2, 9))), "two.png", mask_file="m/two.png")
    white = measure(IMAGE, label_mask((255, slice(2, 9), slice(2, 9))), "white.png", mask_file="m/white.png")
    one = measure(IMAGE, label_mask((1, slice(2, 9), slice(2, 9))), "one.png")
    assert "some masks are label images (m/two.png: values [2]) and others two-level (m/white.png: 0 and 255)" in (
        summarize([two, white]).problem)
    assert summarize([one, white]).problem is None


def test_merged_types_are_planned_as_one_defect():
    from unet_defects.adapters.fakes.planning import FakeFingerprinter, FakeStepTimer, FakeSurvey, KeptPlanWriter
    from unet_defects.application.planning import PlanUseCase
    from unet_defects.domain.data import Sample

    facts = [attrs.evolve(f, name=f"/d/images/p{i}.png") for i, f in enumerate(three_types(120)) if i % 4]
    samples = [Sample(f.name, f.name.replace("images", "masks")) for f in facts]  # every part defective
    use_case = PlanUseCase(FakeSurvey(samples, LAYOUT), FakeFingerprinter({f.name: f for f in facts}),
                           FakeStepTimer({"float32": 0.1}), KeptPlanWriter())
    typed, _ = use_case.execute("/d", 600, "a.yaml")
    assert typed.mapping()["train_input"]["defect_class_names"] == ["class_1", "class_2", "class_3"]
    assert typed.mapping()["model"]["classifier_head"] is True  # each type is missing from two thirds of them
    merged, _ = use_case.execute("/d", 600, "b.yaml", fixed=[("train_input", "defect_class_names", None)])
    inputs, model = merged.mapping()["train_input"], merged.mapping()["model"]
    assert inputs["defect_class_names"] is None and inputs["defect_sampling_by"] == "image"
    assert inputs["defect_sampling"] == 0.0 and model["classifier_head"] is False  # one defect: no good part
    assert "per type" not in str([c.reason for c in merged.choices])


def test_the_sample_takes_exactly_its_size_and_one_of_every_stratum():
    from unet_defects.adapters.datasets.validation_part import apportion, curve_sample

    assert apportion([10] * 30, 50) == [2] * 20 + [1] * 10
    assert apportion([100, 5, 3, 1], 20) == [16, 2, 1, 1]
    strata = ["good"] * 100 + ["crack"] * 5 + ["dent"] * 3 + ["stain"]
    picked = curve_sample(strata, 20, seed=0)
    assert len(picked) == 20 and {strata[i] for i in picked} == {"good", "crack", "dent", "stain"}
    assert curve_sample(strata, 20, seed=0) == picked and curve_sample(strata, 200, 0) == list(range(109))


def test_the_scale_keeps_the_thinnest_types_median_two_and_a_half_pixels_wide():
    from unet_defects.domain.class_fingerprint import ClassFingerprint
    from unet_defects.domain.planning import network_downscale
    from unet_defects.domain.quantiles import Quantiles

    def kind(name, width):
        return ClassFingerprint(label=1, name=name, images=30, pixels=900, components=30,
                                component_area=Quantiles.of([30]), component_width=Quantiles.of([width]))

    wide = attrs.evolve(summarize(three_types(40)), component_width=Quantiles.of([10.3]))
    k, why = network_downscale(attrs.evolve(wide, classes=(kind("hole", 7.6), kind("crack", 5.0))))
    assert k == 2 and why.startswith("the thinnest type's (crack) median defect is 5.0 px wide, still 2.5 px")
    assert network_downscale(attrs.evolve(wide, classes=(kind("hole", 12.0), kind("crack", 10.0))))[0] == 4
    assert network_downscale(attrs.evolve(wide, classes=(kind("hole", 7.6), kind("crack", 2.5))))[0] == 1
    assert network_downscale(attrs.evolve(wide, classes=()))[0] == 4  # one defect: the median alone, as always
