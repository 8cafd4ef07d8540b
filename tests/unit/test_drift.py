"""Drift's domain: the image statistics, the PSI over decile bins, the reference's JSON, the window."""

import numpy as np
import pytest

from unet_defects.domain.drift import (
    FLAGGED,
    MEAN_GRAY,
    SIZE,
    STATISTICS,
    Distribution,
    gray_statistics,
    psi,
)
from unet_defects.domain.drift_reference import DriftReference, InputReference, ScoreReference
from unet_defects.domain.drift_window import (
    DEFAULT_BOUND,
    DriftSettings,
    DriftWindow,
    drift_figures,
    parse_bounds,
)
from unet_defects.domain.errors import ConfigError, DataError


def test_gray_statistics_are_the_mean_and_standard_deviation_of_the_gray_levels():
    image = np.random.default_rng(1).integers(0, 256, (37, 23), dtype=np.uint8)
    mean, spread = gray_statistics(image)
    assert mean == pytest.approx(image.astype(np.float64).mean(), abs=1e-9)
    assert spread == pytest.approx(image.astype(np.float64).std(), abs=1e-9)
    assert gray_statistics(np.full((4, 4), 9, np.uint8)) == (9.0, 0.0)
    as_float = gray_statistics(image.astype(np.float32))  # any other dtype: over its pixels
    assert as_float == pytest.approx((mean, spread))


def test_the_planner_measures_an_image_by_the_same_definitions():
    from unet_defects.adapters.fingerprinting import measure

    image = np.random.default_rng(2).integers(0, 256, (16, 20), dtype=np.uint8)
    facts = measure(image, None, "a.png")
    assert (facts.mean, facts.spread) == gray_statistics(image)


def test_deciles_split_values_in_tenths_and_a_window_like_them_has_no_drift():
    reference = Distribution.of(np.arange(1000))
    assert len(reference.edges) == 9 and reference.shares == pytest.approx((0.1,) * 10)
    assert reference.mean == pytest.approx(499.5) and reference.count == 1000
    assert reference.psi(np.arange(0, 1000, 2)) == pytest.approx(0.0, abs=1e-3)
    shifted = reference.psi(np.arange(1000) + 300)  # a third of the values past the top decile
    assert shifted > 1.0


def test_ties_merge_the_bins_and_values_past_either_end_of_the_reference_show():
    same = Distribution.of([1024] * 50)  # every training image the same size
    assert same.edges == (np.nextafter(1024.0, -np.inf), 1024.0) and same.shares == (0.0, 1.0, 0.0)
    assert same.psi(np.full(30, 1024)) == 0.0
    larger = same.psi(np.full(30, 4096))  # every window image in the reference's empty top bin
    smaller = same.psi(np.full(30, 256))  # and in its empty bin under the minimum
    assert np.isfinite(larger) and larger > 10 and smaller == pytest.approx(larger)
    assert same.judging_bins(200, DEFAULT_BOUND) is None  # 13.82 * (1/50 + 1/200) = 0.35: 50 are too few
    assert Distribution.of([1024] * 500).judging_bins(200, DEFAULT_BOUND).edges == same.edges
    mostly_small = Distribution.of([256] * 40 + list(range(300, 360)))  # the minimum tied past the first decile
    assert mostly_small.psi(np.full(30, 100)) > 10
    assert psi([0.5, 0.5], [1.0, 0.0]) == pytest.approx(0.5 * np.log(2) + (1e-4 - 0.5) * np.log(1e-4 / 0.5))


def test_a_flagged_share_five_times_the_reference_passes_the_default_bound():
    reference = Distribution.of_flags([1.0] * 5 + [0.0] * 95)
    assert reference.edges == (0.0,) and reference.shares == pytest.approx((0.95, 0.05))
    assert reference.psi(np.array([1.0] * 5 + [0.0] * 95)) == pytest.approx(0.0)
    assert reference.psi(np.array([1.0] * 25 + [0.0] * 75)) > DEFAULT_BOUND
    none_flagged = Distribution.of_flags([0.0] * 100)
    assert none_flagged.psi(np.array([1.0] * 5 + [0.0] * 95)) > DEFAULT_BOUND  # from 0 % to 5 %


def test_a_fall_of_a_flagged_share_near_one_shows_as_a_rise_does():
    reference = Distribution.of_flags([1.0] * 95 + [0.0] * 5)
    assert reference.psi(np.array([1.0] * 95 + [0.0] * 5)) == pytest.approx(0.0)
    assert reference.psi(np.array([1.0] * 70 + [0.0] * 30)) > DEFAULT_BOUND  # from 95 % to 70 %
    assert reference.psi(np.ones(100)) > 0  # and up to all of them


def test_scores_far_under_a_millionth_read_back_as_written():
    scores = [1e-9 * (1 + i) for i in range(40)] + [0.5, 0.9]  # a head's probabilities on good parts
    reference = DriftReference(scores=ScoreReference.of(scores, [s > 0.1 for s in scores], "42 validation images"))
    again = DriftReference.from_dict(reference.as_dict(), "drift_reference.json")
    assert again.distributions()["part_score"].edges == reference.scores.distributions["part_score"].edges


def test_a_small_reference_is_judged_over_fewer_bins_or_not_at_all():
    rng = np.random.default_rng(3)
    bins = {n: Distribution.of(rng.normal(0, 1, n)).judging_bins(200, DEFAULT_BOUND) for n in (20, 50, 100, 500)}
    assert bins[20] is None and bins[50] is None  # 10.83 * (1/50 + 1/200) = 0.27 > 0.25
    assert len(bins[100].shares) == 2 and len(bins[500].shares) == 10
    assert bins[100].shares == pytest.approx((0.5, 0.5))
    quintiles = Distribution.of(np.arange(1000)).merged(5)
    assert quintiles.shares == pytest.approx((0.2,) * 5) and len(quintiles.edges) == 4
    window = DriftWindow(200)
    window.add(_rows(200, 120))
    small = DriftReference(scores=ScoreReference.of(list(_rows(50, 120)[:, 3]), [False] * 50, "50 validation images"))
    figures = drift_figures(small, window, DriftSettings(window=200, min_images=200))
    assert figures.statistic("part_score").psi is None and figures.statistic("part_score").bins is None
    assert "part_score not judged: its reference of 50 values is too few for a bound of 0.25" in figures.note
    assert figures.statistic("flagged_share").bins is None  # 50 parts none flagged: the rate may be 5 %
    assert "flagged_share not judged" in figures.note


def test_the_reference_reads_back_what_it_wrote_and_names_the_key_at_fault():
    inputs = InputReference.of([(100.0 + i, 20.0, 1024) for i in range(30)], "the training images (all 30)")
    scores = ScoreReference.of([0.1, None, 0.9, 0.2], [False, False, True, False], "4 eval images")
    reference = DriftReference(inputs, scores)
    again = DriftReference.from_dict(reference.as_dict(), "drift_reference.json")
    assert again.distributions()[MEAN_GRAY].edges == pytest.approx(inputs.distributions[MEAN_GRAY].edges)
    assert again.distributions()[FLAGGED].mean == pytest.approx(0.25)
    assert again.distributions()[SIZE].shares == (0.0, 1.0, 0.0)
    assert DriftReference.from_dict({"version": 1}, "f") == DriftReference()
    payload = reference.as_dict()
    payload["scores"]["part_score"]["shares"] = [1.0]
    with pytest.raises(DataError, match=r"^f: scores.part_score: 1 shares for"):
        DriftReference.from_dict(payload, "f")
    with pytest.raises(DataError, match="f: unknown keys extra"):
        DriftReference.from_dict({"version": 1, "extra": 1}, "f")
    with pytest.raises(DataError, match="f: version 7, this release reads 1"):
        DriftReference.from_dict({"version": 7}, "f")


def test_settings_check_their_values_and_read_bounds_from_a_flag():
    assert DriftSettings().bounds == dict.fromkeys(STATISTICS, DEFAULT_BOUND)
    assert DriftSettings(bounds={"size": 1.0}).bounds["size"] == 1.0
    assert parse_bounds("0.2") == dict.fromkeys(STATISTICS, 0.2)
    assert parse_bounds("mean_gray=0.1, flagged_share=0.5") == {"mean_gray": 0.1, "flagged_share": 0.5}
    with pytest.raises(ConfigError, match="unknown statistic 'brightness'"):
        DriftSettings(bounds={"brightness": 0.1})
    with pytest.raises(ConfigError, match="--drift_bounds 'x=y'"):
        parse_bounds("x=y")
    with pytest.raises(ConfigError, match="drift_window: must be 0"):
        DriftSettings(window=-1)
    with pytest.raises(ConfigError, match="size must be above 0"):
        DriftSettings(bounds={"size": 0})
    with pytest.raises(ConfigError, match="drift bounds: size must be a number .a PSI., got 'high'"):
        DriftSettings(bounds={"size": "high"})
    with pytest.raises(KeyError, match="no statistic 'brightness'; expected one of: mean_gray"):
        drift_figures(None, DriftWindow(1), DriftSettings()).statistic("brightness")


def _rows(count: int, mean: float, flagged: float = 0.0) -> np.ndarray:
    return np.array([(mean + i % 7, 30.0 + i % 5, 1024, 0.1 + (i % 10) / 100, flagged) for i in range(count)])


def test_the_window_keeps_the_last_n_rows():
    window = DriftWindow(5)
    window.add(_rows(3, 10))
    window.add(_rows(4, 200))
    assert (window.held, window.seen) == (5, 7)
    assert sorted(window.values()[:, 0]) == [11.0, 12.0, 200.0, 201.0, 202.0, 203.0][1:]
    window.add(_rows(12, 50))  # more than it holds at once: the last five
    assert sorted(window.values()[:, 0]) == [50 + i % 7 for i in range(7, 12)]


def test_figures_judge_only_a_full_enough_window_against_a_reference():
    reference = DriftReference(InputReference.of([(r[0], r[1], int(r[2])) for r in _rows(300, 120)], "training"),
                               ScoreReference.of(list(_rows(300, 120)[:, 3]), [False] * 300, "eval"))
    settings = DriftSettings(window=100, min_images=100)
    window = DriftWindow(100)
    window.add(_rows(40, 60))
    early = drift_figures(reference, window, settings)
    assert not early.judged and early.drifted == () and "judged from 100 images on" in early.note
    window.add(_rows(60, 60))
    late = drift_figures(reference, window, settings)
    assert late.judged and late.drifted == ("mean_gray",)
    moved = late.statistic("mean_gray")
    assert moved.psi > 1 and moved.window == pytest.approx(63, abs=0.2) and moved.reference == pytest.approx(123, abs=0.2)
    assert late.as_dict()["statistics"]["size"]["psi"] == 0.0
    assert late.as_dict()["drifted"] == ["mean_gray"]


def test_without_a_reference_the_figures_say_so_and_judge_nothing():
    window = DriftWindow(10)
    window.add(_rows(10, 60))
    figures = drift_figures(None, window, DriftSettings(window=10, min_images=5))
    assert not figures.judged and figures.reference is None and "no drift reference" in figures.note
    assert figures.statistic("mean_gray").psi is None and figures.statistic("mean_gray").window is not None
    inputs_only = DriftReference(InputReference.of([(60.0, 30.0, 1024)] * 10, "training"))
    half = drift_figures(inputs_only, window, DriftSettings(window=10, min_images=5))
    assert half.statistic("part_score").psi is None and "run unet calibrate" in half.note


def test_the_serve_flags_make_the_drift_settings_and_refuse_bad_ones_in_one_line():
    from unet_defects.serving.settings import ServeSettings

    assert ServeSettings().drift == DriftSettings()
    assert ServeSettings(drift_bounds="flagged_share=0.5").drift.bounds["flagged_share"] == 0.5
    with pytest.raises(ConfigError, match="--drift_bounds 'loud'"):
        ServeSettings(drift_bounds="loud")
    with pytest.raises(ConfigError, match="drift_min_images: must be 1 or more"):
        ServeSettings(drift_min_images=0)


def test_a_batch_of_images_is_summed_exactly_whatever_its_shapes_and_chunks(monkeypatch):
    import unet_defects.domain.drift as drift

    rng = np.random.default_rng(4)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((5, 7), (9, 3), (5, 7), (40, 40))]
    images.append(rng.random((6, 6)).astype(np.float32) * 255)
    expected = [(i.astype(np.float64).mean(), i.astype(np.float64).std()) for i in images]
    monkeypatch.setattr(drift, "_CHUNK", 64)  # several images per stack, and an image summed in parts
    np.testing.assert_allclose(drift.gray_statistics_of(images), expected, rtol=1e-9, atol=1e-9)
