"""Each planning rule on fingerprints, the run's length from a measured step, and the plan file."""

import attrs
import pytest

from unet_defects.application.planning import Plan, describe
from unet_defects.application.values import StepTiming
from unet_defects.configs.loader import build_experiment, load_config
from unet_defects.configs.plan_file import CommentedPlanFile
from unet_defects.domain.errors import DataError
from unet_defects.domain.fingerprint import DatasetFingerprint, Quantiles
from unet_defects.domain.planning import DEFECT_SAMPLING, MAX_PATCH_SIDE, DataSplit, check_plannable, draft, sections
from unet_defects.domain.run_duration import (
    EVALUATION_OVERHEAD,
    EVALUATIONS,
    MIN_CURVE_IMAGES,
    length_choices,
    training_length,
)

LAYOUT = DataSplit(dataset_path="/data/parts", test_folder=True, description="train/ of a train/ and test/ layout")


def q(median, low=None, high=None):
    return Quantiles(low if low is not None else median, median, high if high is not None else median,
                     low if low is not None else median, high if high is not None else median)


def fingerprint(**changes) -> DatasetFingerprint:
    base = dict(images=500, defective_images=150, height=q(320), width=q(280), colour_share=0.0, mean_gray=110.0,
                exposure_variation=0.1, defect_coverage=q(0.005), defect_pixel_share=0.02, components=200,
                component_area=q(300, 50, 20000), component_width=q(4.0, 2.0, 100.0), defect_contrast=0.8,
                texture_direction=1.0, mask_kind="binary")
    return DatasetFingerprint(**{**base, **changes})


def chosen(plan_draft, section, key):
    return plan_draft.mapping()[section][key]


def test_too_few_images_or_no_defects_are_refused_in_one_line():
    with pytest.raises(DataError, match="/d: 5 images; a plan needs at least 20"):
        check_plannable(fingerprint(images=5, defective_images=2), "/d")
    with pytest.raises(DataError, match="no mask marks a defect pixel"):
        check_plannable(fingerprint(defective_images=0), "/d")
    with pytest.raises(DataError, match="3 defective images; a plan needs at least 4"):
        check_plannable(fingerprint(defective_images=3), "/d")
    with pytest.raises(DataError, match="masks hold neither"):
        check_plannable(fingerprint(problem="/d: 3 masks hold neither two levels nor class labels"), "/d")
    check_plannable(fingerprint(), "/d")


def test_thin_defects_keep_the_images_own_scale_and_wide_ones_let_the_network_run_coarser():
    thin = draft(fingerprint(component_width=q(3.0, 1.0, 8.0)), LAYOUT)
    assert chosen(thin, "model", "input_downscale") == 1
    wide = draft(fingerprint(component_width=q(10.3, 3.7, 158.0)), LAYOUT)
    assert chosen(wide, "model", "input_downscale") == 4
    assert chosen(draft(fingerprint(component_width=q(6.0)), LAYOUT), "model", "input_downscale") == 2


def test_the_patch_is_the_median_image_within_a_network_budget_and_depth_follows_it():
    small = draft(fingerprint(height=q(96), width=q(80), component_width=q(3.0)), LAYOUT)
    assert chosen(small, "train_input", "image_shape") == [96, 80, 1]
    assert len(chosen(small, "model", "encoder_filters")) == 4  # 80 / 2^3 = 10 px at the bottleneck
    huge = draft(fingerprint(height=q(3000), width=q(4000), component_width=q(3.0)), LAYOUT)
    assert chosen(huge, "train_input", "image_shape") == [MAX_PATCH_SIDE, MAX_PATCH_SIDE, 1]
    assert "keep steps affordable" in next(c.reason for c in huge.choices if c.key == "image_shape")
    coarse = draft(fingerprint(height=q(3000), width=q(4000), component_width=q(40.0)), LAYOUT)
    assert chosen(coarse, "train_input", "image_shape") == [4 * MAX_PATCH_SIDE, 4 * MAX_PATCH_SIDE, 1]
    for plan_draft in (small, huge, coarse):  # each builds: its crop sides are multiples of the network's stride
        build_experiment(plan_draft.mapping())


def test_batches_hold_a_fixed_number_of_network_pixels_and_never_a_large_share_of_the_data():
    big_data = draft(fingerprint(height=q(64), width=q(64), component_width=q(3.0)), LAYOUT)
    assert chosen(big_data, "train_input", "train_batch_size") == 32
    few = draft(fingerprint(images=40, defective_images=10, height=q(64), width=q(64), component_width=q(3.0)),
                LAYOUT)
    assert chosen(few, "train_input", "train_batch_size") == 3  # 10 % of 32 training images
    assert chosen(few, "model", "normalization") == "group"
    assert chosen(big_data, "model", "normalization") == "batch"


def test_mostly_clean_parts_are_oversampled_and_all_defective_parts_are_not():
    clean = draft(fingerprint(defective_images=30), LAYOUT)
    assert chosen(clean, "train_input", "defect_sampling") == DEFECT_SAMPLING
    every = draft(fingerprint(defective_images=500), LAYOUT)
    assert chosen(every, "train_input", "defect_sampling") == 0.0


def test_texture_direction_and_exposure_choose_the_augmentation_and_the_input_standardization():
    striped = draft(fingerprint(texture_direction=1.8, exposure_variation=1.1), LAYOUT)
    assert chosen(striped, "augmentation", "rotations") == "none"
    assert chosen(striped, "model", "input_standardization") == "per_image"
    assert chosen(striped, "augmentation", "brightness") == 0.0
    even = draft(fingerprint(texture_direction=1.0, exposure_variation=0.1), LAYOUT)
    assert chosen(even, "augmentation", "rotations") == "all"
    assert chosen(even, "model", "input_standardization") == "none"


def test_a_single_folder_holds_test_images_out_and_a_test_folder_does_not():
    single = draft(fingerprint(), attrs.evolve(LAYOUT, test_folder=False))
    assert chosen(single, "train_input", "train_test_split") == 0.8
    assert "train_test_split" not in draft(fingerprint(), LAYOUT).mapping()["train_input"]


def test_names_that_carry_types_stratify_the_validation_part():
    typed = draft(fingerprint(types={"MT_Free": (300, 0), "MT_Crack": (200, 150)}), LAYOUT)
    assert "by the 2 types" in next(c.reason for c in typed.choices if c.key == "validation_split")


def test_defective_images_are_drawn_alike_and_the_plan_names_the_types_it_could_share_among():
    types = {"MT_Free": (300, 0), "MT_Crack": (120, 120), "MT_Fray": (30, 30)}
    typed = draft(fingerprint(types=types), LAYOUT)
    assert chosen(typed, "train_input", "defect_sampling_by") == "image"
    assert "among the 2 defect types" in next(c.reason for c in typed.choices if c.key == "defect_sampling_by")
    untyped = draft(fingerprint(), LAYOUT)
    assert next(c.reason for c in untyped.choices if c.key == "defect_sampling_by") == "every defective image is drawn alike"


def test_the_length_fits_the_budget_with_its_evaluations_and_ends_on_a_checkpoint():
    length = training_length(budget=1800, seconds_per_step=0.5, evaluation_seconds=10.0)
    assert length.steps % EVALUATIONS == 0 and length.checkpoint_every * EVALUATIONS == length.steps
    used = length.steps * 0.5 + EVALUATIONS * (10.0 + EVALUATION_OVERHEAD)
    assert 1800 * 0.9 < used <= 1800 and length.evaluation_seconds == EVALUATIONS * (10.0 + EVALUATION_OVERHEAD)
    started = training_length(budget=1800, seconds_per_step=0.5, evaluation_seconds=10.0, startup_seconds=60.0)
    assert length.steps - started.steps == pytest.approx(120, abs=EVALUATIONS)
    slow = training_length(budget=60, seconds_per_step=30.0, evaluation_seconds=5.0)
    assert slow.steps == slow.evaluations == 2  # never fewer steps than evaluations, never fewer than 2 of them
    assert length.describe(1800).endswith(" fit 30m")
    assert slow.describe(60) == (  # 2 x 30 s + 2 x (5 + 3) s: the plan says it overruns
        "2 steps of 30.000 s (measured here), 2 evaluations of about 8.0 s and 0 s of start-up take about 1m16s, "
        "more than the 1m asked for (a plan makes at least 2 steps, one per evaluation): a --budget of 1m20s or "
        "more fits them")
    # Evaluations take at most a tenth of the budget: 60 s of 10 minutes is four of 15 s, eight of 4 s.
    assert training_length(budget=600, seconds_per_step=0.5, evaluation_seconds=12.0).evaluations == 4
    assert training_length(budget=600, seconds_per_step=0.5, evaluation_seconds=1.0).evaluations == 8
    choices = sections(length_choices(length, 1800))
    schedule = choices["optimizer"]["learning_rate"]
    assert schedule[0]["steps"] + schedule[1]["decay_steps"] == length.steps
    assert choices["runconfig"]["time_budget"] == "30m"


def test_the_plan_file_says_why_and_loads_back_to_the_same_run(tmp_path):
    fp = fingerprint(types={"a": (300, 0), "b": (200, 150)})
    planned = draft(fp, LAYOUT)
    length = training_length(1800, 0.5, 10.0)
    from unet_defects.application.planning import _with_record

    sized = attrs.evolve(planned, choices=planned.choices + length_choices(length, 1800))
    plan = Plan(fingerprint=fp, layout=LAYOUT, choices=_with_record(sized, 1800, fp), advice=planned.advice,
                budget=1800, length=length, timing=StepTiming(0.5, 0.1, "float32", "a CPU"), measured=describe(fp))
    path = CommentedPlanFile().write(plan, str(tmp_path / "plan.yaml"))
    text = (tmp_path / "plan.yaml").read_text()
    assert "# What the dataset is like:" in text and "500 training images, 150 defective (30%)" in text
    assert "image_shape: [128, 128, 1]" in text and "# the median image is 320x280" in text
    experiment, _ = load_config(path)
    assert experiment.data.validation_split == 0.2 and experiment.run.time_budget == 1800
    assert experiment.plan.advice == planned.advice and experiment.plan.fingerprint["types"]["b"]["defective"] == 150
    assert experiment.run.max_steps == length.steps
    assert experiment == build_experiment(plan.mapping())


def plan_world(seconds, count=40, defective=12, size=(120, 100), evaluation_image=0.05):
    from unet_defects.adapters.fakes.planning import FakeFingerprinter, FakeStepTimer, FakeSurvey, KeptPlanWriter
    from unet_defects.application.planning import PlanUseCase
    from unet_defects.domain.data import Sample
    from unet_defects.domain.fingerprint import ImageFacts

    samples = [Sample(f"/d/images/part_{i}.png", f"/d/masks/part_{i}.png") for i in range(count)]
    facts = {str(s.image): ImageFacts(name=s.image, height=size[0], width=size[1], mean=100.0 + i, spread=20.0,
                                      mask="binary" if i < defective else "empty",
                                      defect_pixels=40 if i < defective else 0,
                                      component_areas=(40,) if i < defective else (),
                                      component_widths=(4.0,) if i < defective else ())
             for i, s in enumerate(samples)}
    timer, writer = FakeStepTimer(seconds, evaluation_image=evaluation_image), KeptPlanWriter()
    use_case = PlanUseCase(FakeSurvey(samples, LAYOUT), FakeFingerprinter(facts), timer, writer)
    return use_case, timer, writer


def test_the_plan_times_both_precisions_and_keeps_the_faster():
    use_case, timer, writer = plan_world({"mixed": 0.2, "float32": 0.1})
    said = []
    plan, path = use_case.execute("/d", 600, "plan.yaml", say=said.append)
    assert path == "plan.yaml" and writer.plans["plan.yaml"] is plan
    assert [t["model"].get("precision", "auto") for t in timer.timed] == ["auto", "float32"]
    assert plan.mapping()["model"]["precision"] == "float32"
    assert plan.length.seconds_per_step == 0.1
    assert any("0.200 s in mixed_bfloat16 and 0.100 s in float32" in line for line in said)
    assert said[0].startswith("40 training images, 12 defective (30%)")
    faster_mixed, _, _ = plan_world({"mixed": 0.05, "float32": 0.1})
    assert faster_mixed.execute("/d", 600, "p.yaml")[0].mapping()["model"]["precision"] == "auto"


def test_without_mixed_precision_the_plan_times_once():
    use_case, timer, _ = plan_world({"float32": 0.1})
    plan, _ = use_case.execute("/d", 600, "plan.yaml")
    assert len(timer.timed) == 1 and plan.mapping()["model"]["precision"] == "float32"


def test_a_plan_of_too_few_images_stops_before_timing_anything():
    use_case, timer, _ = plan_world({"float32": 0.1}, count=8, defective=3)
    with pytest.raises(DataError, match="8 images; a plan needs at least 20"):
        use_case.execute("/d", 600, "plan.yaml")
    assert timer.timed == []


def test_a_choice_fixed_by_the_user_is_kept_and_timed_with():
    use_case, timer, _ = plan_world({"float32": 0.1})
    plan, _ = use_case.execute("/d", 600, "plan.yaml", fixed=[("model", "input_downscale", 2),
                                                                ("runconfig", "throttle_secs", 0)])
    assert plan.mapping()["model"]["input_downscale"] == 2 and timer.timed[0]["model"]["input_downscale"] == 2
    assert plan.mapping()["runconfig"]["throttle_secs"] == 0
    assert next(c for c in plan.choices if c.key == "input_downscale").reason.startswith("set on the command line")


def test_a_precision_or_length_set_by_the_user_is_neither_retimed_nor_resized():
    use_case, timer, _ = plan_world({"mixed": 0.2, "float32": 0.1})
    plan, _ = use_case.execute("/d", 600, "plan.yaml", fixed=[("model", "precision", "auto"),
                                                                ("runconfig", "max_steps", 77)])
    assert [t["model"]["precision"] for t in timer.timed] == ["auto"]  # only the precision asked for
    keys = [(c.section, c.key) for c in plan.choices]
    assert keys.count(("model", "precision")) == 1 and keys.count(("runconfig", "max_steps")) == 1
    assert plan.mapping()["model"]["precision"] == "auto" and plan.mapping()["runconfig"]["max_steps"] == 77


def test_the_mask_threshold_is_the_fingerprints_defect_level():
    assert chosen(draft(fingerprint(), LAYOUT), "train_input", "mask_threshold") == 128
    assert chosen(draft(fingerprint(defect_level=1), LAYOUT), "train_input", "mask_threshold") == 1


def test_a_seed_or_split_set_by_the_user_is_the_split_the_plan_reads():
    use_case, _, _ = plan_world({"float32": 0.1})
    use_case.execute("/d", 600, "plan.yaml", fixed=[("train_input", "seed", 3), ("train_input", "train_test_split", 0.7)])
    assert use_case._survey.asked == (3, 0.7)
    use_case.execute("/d", 600, "plan.yaml")
    assert use_case._survey.asked == (0, 0.8)


def test_evaluations_cost_the_timed_validation_image_times_the_validation_images():
    use_case, _, _ = plan_world({"float32": 0.1})  # the fake timer: 0.05 s a validation image
    plan, _ = use_case.execute("/d", 600, "a.yaml")
    validation = round(0.2 * 40)
    assert plan.length.evaluation_seconds == pytest.approx(
        plan.length.evaluations * (0.05 * validation + EVALUATION_OVERHEAD))


def test_evaluations_too_slow_for_a_tenth_of_the_budget_score_a_sample_and_the_end_scores_them_all():
    use_case, _, _ = plan_world({"float32": 0.1}, count=400, defective=120, evaluation_image=1.0)
    plan, _ = use_case.execute("/d", 600, "a.yaml")
    validation = round(0.2 * 400)
    sample = plan.mapping()["train_input"]["validation_sample"]
    assert sample == MIN_CURVE_IMAGES < validation  # 8 x 80 s would be far more than a tenth of 10 minutes
    assert plan.length.evaluation_seconds == pytest.approx(plan.length.evaluations * (1.0 * sample + EVALUATION_OVERHEAD))
    assert plan.length.final_seconds == pytest.approx(3 * (1.0 * validation + EVALUATION_OVERHEAD))
    quick, _, _ = plan_world({"float32": 0.1}, count=400, defective=120, evaluation_image=0.01)
    assert "validation_sample" not in quick.execute("/d", 600, "b.yaml")[0].mapping()["train_input"]


def reason(plan_draft, section, key):
    return next(c.reason for c in plan_draft.choices if (c.section, c.key) == (section, key))


def test_the_classifier_head_decides_the_part_where_there_are_good_parts_to_learn_it_from():
    many = draft(fingerprint(images=500, defective_images=150), LAYOUT)
    assert chosen(many, "model", "classifier_head") is True and chosen(many, "model", "decision_gate") == "classifier"
    assert chosen(many, "model", "classifier_loss_weight") == 1.0
    assert reason(many, "model", "classifier_head").startswith("350 of the 500 training images are good parts (70%)")
    every = draft(fingerprint(images=118, defective_images=118), LAYOUT)
    assert chosen(every, "model", "classifier_head") is False and "decision_gate" not in every.mapping()["model"]
    assert reason(every, "model", "classifier_head").startswith("every training image is defective")
    assert "image AUROC is undefined" in reason(every, "model", "classifier_head")
    few = draft(fingerprint(images=500, defective_images=490), LAYOUT)  # 10 good parts: under the count
    assert chosen(few, "model", "classifier_head") is False
    assert reason(few, "model", "classifier_head").startswith("only 10 of the 500 training images are good parts")
    thin = draft(fingerprint(images=1000, defective_images=960), LAYOUT)  # 40 good parts, but 4 %: under the share
    assert chosen(thin, "model", "classifier_head") is False
    rare = draft(fingerprint(images=500, defective_images=25), LAYOUT)  # a few defective parts among many good
    assert chosen(rare, "model", "classifier_head") is True
    for plan_draft in (many, every):  # every plan calibrates its decision at the end, to the best image F1
        assert chosen(plan_draft, "runconfig", "calibrate") is True
        assert chosen(plan_draft, "runconfig", "image_recall") is None
