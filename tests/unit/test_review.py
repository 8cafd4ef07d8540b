"""The images worth labelling next: the two measures of doubt, and the review use case on fakes
(every image scored once, the least sure chosen, only their proposals written)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.test_use_cases import UseCaseFakes
from unet_defects.adapters.fakes import FakeImageSource, FakeProposalWriter, FakeReviewWriter
from unet_defects.application.inspector import InspectionPipeline
from unet_defects.application.line_maps import ProbabilityMaps
from unet_defects.application.review import ReviewUseCase
from unet_defects.domain.data import DataSpec
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.gate import Gate
from unet_defects.domain.review import PIXEL_BAND, Uncertainty, most_uncertain, uncertainty
from unet_defects.domain.training import RunSpec


def test_margin_is_the_verdicts_distance_to_its_bar_and_pixels_the_share_near_the_threshold():
    probabilities = np.full((4, 5, 2), 0.05, np.float32)
    probabilities[0, 0, 0] = 0.62  # class 0's peak: 0.12 above its threshold 0.5
    probabilities[1, :, 1] = 0.3  # class 1: a row of pixels 0.1 under its threshold 0.4, its peak
    decisions = [Decision(0.5), Decision(0.4)]
    measured = uncertainty(probabilities, decisions)
    assert measured.margin == pytest.approx(0.1)
    near = np.zeros((4, 5), bool)
    near[0, 0] = abs(0.62 - 0.5) < PIXEL_BAND
    near[1, :] = True
    assert measured.pixels == pytest.approx(near.mean())
    gated = [Decision(0.5, gate=Gate(0.7), gated=True), Decision(0.4)]
    assert uncertainty(probabilities, gated, np.array([0.68, 0.0])).margin == pytest.approx(0.02)  # the head decides
    with pytest.raises(ValueError, match=r"expected \(H, W, 2\) probabilities"):
        uncertainty(probabilities[..., :1], decisions)


def test_the_least_sure_come_first_by_either_measure():
    scored = [("a", Uncertainty(0.3, 0.01)), ("b", Uncertainty(0.01, 0.02)), ("c", Uncertainty(0.2, 0.5))]
    assert [name for name, _ in most_uncertain(scored, "margin")] == ["b", "c", "a"]
    assert [name for name, _ in most_uncertain(scored, "pixels")] == ["c", "b", "a"]
    with pytest.raises(ConfigError, match="--by: unknown measure 'entropy'"):
        most_uncertain(scored, "entropy")


def test_review_scores_every_image_once_and_writes_the_chosen_ones_proposals():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    images = {}
    for index, value in enumerate((0, 40, 120, 200, 255)):  # brighter images, higher probabilities
        image = np.zeros((5, 7), np.uint8)
        image[1, 2] = value
        images[f"in/{index}.png"] = image
    images["in/broken.png"] = None
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), normalize_data_method="zero_one")
    opened = []
    review_files = FakeReviewWriter()

    def proposals(formats, output, class_names):
        opened.append(FakeProposalWriter(formats, output, class_names))
        return opened[-1]

    use_case = ReviewUseCase(world.opener(data), InspectionPipeline(ProbabilityMaps(world.predictor), world.components),
                             FakeImageSource(images), world.artifacts, proposals, review_files)
    report = use_case.execute(["in/"], "out", count=2, by="margin", annotations=("coco",))
    assert len(report.ranked) == 5 and len(report.failures) == 1 and "broken.png" in report.failures[0]
    margins = [measured.margin for _, measured in report.ranked]
    assert margins == sorted(margins)
    assert report.chosen == tuple(name for name, _ in report.ranked[:2])
    (writer,) = opened
    assert writer.formats == ("coco",) and writer.class_names == ("defect",)
    assert [name for name, _ in writer.added] == list(report.chosen)  # only the chosen get proposals
    assert sorted(world.artifacts.predictions) == sorted(report.chosen)  # and masks
    assert [row["file"] for row in review_files.rows] == [name for name, _ in report.ranked]
    assert [row["chosen"] for row in review_files.rows] == [True, True, False, False, False]
    assert {"margin", "pixels", "score", "defective"} <= set(review_files.rows[0])
    assert review_files.about["by"] == "margin" and "out/proposals.json" in report.written and writer.closed
    with pytest.raises(ConfigError, match="--count: must be 1 or more"):
        use_case.execute(["in/"], "out", count=0)
