"""The part's verdict on literal values: the gate's verdict finds parts whose mask is empty,
calibration to a recall of defective parts (hand-computed: the fewest false alarms at the
recall; a target nothing reaches is one line), the operating point a line manager reads, and
the one part score every output ranks by."""

import numpy as np
import pytest

from unet_defects.adapters.components import ScipyComponents
from unet_defects.application.inspection import inspected
from unet_defects.domain.calibration import ComponentTable, search
from unet_defects.domain.decision import Decision
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.gate import OPEN, Gate, GateRow, GateTable, search_gate
from unet_defects.domain.operating_point import OperatingPoint, recall_at_false_alarm_rate
from unet_defects.domain.part_score import CLASSIFIER, PEAK, part_score, score_name

ROWS = (  # probability, largest area, tp, fp, truth pixels
    GateRow(0.95, 20, 15, 5, 18),  # defective, found by both
    GateRow(0.80, 0, 0, 0, 12),  # defective, the mask misses it; the head does not
    GateRow(0.40, 30, 25, 5, 30),  # defective, found; the head doubts
    GateRow(0.60, 6, 0, 6, 0),  # good, a false alarm; the head is fooled
    GateRow(0.30, 4, 0, 4, 0),  # good, a false alarm; the head says good
    GateRow(0.10, 0, 0, 0, 0),  # good
    GateRow(0.05, 0, 0, 0, 0),  # good
)


def test_the_head_flags_a_part_whose_mask_is_empty_and_the_open_gate_is_the_mask_alone():
    assert Gate(0.5).flags(0.8, 0) and not Gate(0.5).flags(0.4, 0)
    assert Gate(OPEN).flags(0.0, 1) and not Gate(OPEN).flags(0.99, 0)
    assert Gate(0.5, area_bar=25).flags(0.4, 30)  # a strong mask overrules a doubting head
    rule, head = GateTable.of(ROWS).scores(Gate(OPEN)), GateTable.of(ROWS).scores(Gate(0.5))
    assert rule.image_recall == pytest.approx(2 / 3) and rule.false_alarm_rate == pytest.approx(2 / 4)
    # The head finds part 2 (no mask) and drops part 3; vetoes part 5's false alarm, not part 4's.
    assert head.image_recall == pytest.approx(2 / 3) and head.false_alarm_rate == pytest.approx(1 / 4)
    assert GateTable.of(ROWS).scores(Gate(0.35)).image_recall == 1.0


def test_a_gated_decision_flags_the_part_with_an_empty_mask_and_the_inspection_says_defective():
    components = ScipyComponents()
    empty = np.full((8, 8), 0.1, np.float32)
    decision = Decision(0.5, gate=Gate(0.5), gated=True)
    mask, flagged = decision.decide(empty, components, 0.9)
    assert flagged and not mask.any()
    found = inspected(empty[..., None], (decision,), components, image_probabilities=np.array([0.9]))
    assert found.defective and found.defects == () and found.score == pytest.approx(0.9)
    reported = inspected(empty[..., None], (Decision(0.5, gate=Gate(0.5)),), components,
                         image_probabilities=np.array([0.9]))
    assert not reported.defective and reported.score == pytest.approx(0.9)  # not applied: the mask decides


def test_calibrating_the_head_to_a_recall_takes_the_fewest_false_alarms_that_reach_it():
    # Head probabilities of the defective parts 0.95, 0.80, 0.40; of the good ones 0.60, 0.30, 0.10, 0.05.
    # Recall 1 needs a threshold <= 0.40: at 0.40 one good part (0.60) is flagged, the fewest possible.
    full = search_gate(ROWS, (None,), image_recall=1.0).best
    assert full.gate == Gate(0.4) and full.scores.image_recall == 1.0 and full.scores.false_alarm_rate == 0.25
    # Recall 2/3: 0.80 flags parts 1 and 2 and no good part.
    two_thirds = search_gate(ROWS, (None,), image_recall=0.6).best
    assert two_thirds.scores.false_alarm_rate == 0.0 and two_thirds.gate.threshold > 0.6
    assert two_thirds.scores.image_recall == pytest.approx(2 / 3)
    with pytest.raises(DataError, match=r"^image_recall 1: no candidate decision reaches it on the 2 calibration "
                                        r"images \(the highest is 0\.000\)"):
        search_gate((GateRow(0.0, 0, 0, 0, 5), GateRow(0.2, 0, 0, 0, 0)), (None,), image_recall=1.0)
    with pytest.raises(ConfigError, match=r"--image_recall: a recall of defective parts in \(0, 1\], got 1.5"):
        search_gate(ROWS, (None,), image_recall=1.5)


def test_without_a_head_the_pixel_pair_takes_the_recall_target():
    tables = {
        0.5: [ComponentTable([9], [9], 9), ComponentTable([], [], 4), ComponentTable([3], [0], 0),
              ComponentTable([], [], 0)],
        0.2: [ComponentTable([12], [9], 9), ComponentTable([5], [4], 4), ComponentTable([6], [0], 0),
              ComponentTable([2], [0], 0)],
    }
    # Recall 1 needs threshold 0.2: min_area 3 drops the 2-pixel false alarm and keeps both defects.
    found = search(tables, min_areas=[0, 3, 8], image_recall=1.0).best
    assert (found.threshold, found.min_area) == (0.2, 3)
    assert found.image_recall == 1.0 and found.false_alarm_rate == 0.5
    assert search(tables, min_areas=[0, 3, 8]).best.threshold == 0.5  # defect Dice alone keeps 0.5
    with pytest.raises(DataError, match="no candidate decision reaches it"):
        search({0.5: [ComponentTable([], [], 4)]}, image_recall=0.5)


def test_the_operating_point_counts_parts_and_reads_the_ranking_at_fixed_false_alarm_rates():
    truth = [True] * 4 + [False] * 20
    scores = [0.9, 0.8, 0.7, 0.2] + [0.75] + [0.1] * 19
    flagged = [s >= 0.5 for s in scores]
    point = OperatingPoint.of(truth, flagged, scores)
    assert (point.found, point.defective, point.stopped, point.good) == (3, 4, 1, 20)
    assert point.recall == 0.75 and point.false_alarm_rate == 0.05
    # At 1 %: no false alarm allowed (0.2 of a part): only scores above 0.75 count, 2 of 4.
    # At 5 %: one false alarm allowed: above the second-highest good score (0.1): all 4.
    assert point.recall_at == ((0.01, 0.5), (0.05, 1.0))
    assert point.sentence() == ("finds 3 of 4 bad parts (75 of 100), stops 1 of 20 good ones (5 of 100); the "
                                "ranking could find 50 of 100 bad parts at 1% false alarms or 100 of 100 bad parts "
                                "at 5% false alarms")
    assert point.as_dict()["recall_at_false_alarm_rate"] == {"0.01": 0.5, "0.05": 1.0}
    assert recall_at_false_alarm_rate([0.3, 0.4], [True, True], 0.05) is None  # no good part: undefined
    everything = OperatingPoint.of([True, True], [True, False], [0.9, 0.1])
    assert everything.false_alarm_rate is None and everything.sentence() == "finds 1 of 2 bad parts (50 of 100)"
    assert everything.why_no_ranking() == "every one of the 2 parts is defective: a ranking needs both kinds"


def test_the_part_score_is_the_heads_probability_else_the_largest_pixel_probability():
    assert score_name(True) == CLASSIFIER and score_name(False) == PEAK
    assert part_score([0.99, 0.2], None) == 0.99
    assert part_score([0.99, 0.2], [0.1, 0.3]) == 0.3
    with pytest.raises(ValueError, match="1 classifier probabilities for 2 classes"):
        part_score([0.99, 0.2], [0.1])


def test_min_area_never_drops_components_that_a_tenth_of_the_true_defects_are_as_small_as():
    from unet_defects.domain.calibration import capped, min_area_cap

    areas = [30, 40, 66, 70, 120, 400, 900, 2000, 5000, 8000, 12000]  # the tenth lies at the second, 40 px
    assert min_area_cap(areas) == 40 and min_area_cap([]) is None
    assert capped((0, 4, 8, 16, 32, 64, 128, 2048), 40) == (0, 4, 8, 16, 32)
    assert capped((4, 64), None) == (0, 4, 64)
