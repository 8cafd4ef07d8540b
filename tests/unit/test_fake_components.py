"""The Components fake (a numpy flood fill) answers as the scipy adapter does, method by method."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from unet_defects.adapters.components import ScipyComponents, label_components
from unet_defects.adapters.fakes import FakeComponents
from unet_defects.adapters.fakes.components import flood_labels

SHAPES = st.tuples(st.integers(1, 9), st.integers(1, 9))


@st.composite
def masks_and_maps(draw):
    """A decision, a truth, a don't-care mask and probabilities of one small shape."""
    shape = draw(SHAPES)
    decision, truth, counted = (draw(arrays(bool, shape)) for _ in range(3))
    probabilities = draw(arrays(np.float32, shape, elements=st.floats(0, 1, width=32)))
    return decision, truth, counted, probabilities


@settings(max_examples=60, deadline=None)
@given(arrays(bool, SHAPES))
def test_the_flood_fill_labels_as_scipy_does_numbering_included(mask):
    labels, count = flood_labels(mask)
    expected, expected_count = label_components(mask)
    assert count == expected_count
    np.testing.assert_array_equal(labels, expected)


@settings(max_examples=60, deadline=None)
@given(masks_and_maps(), st.integers(0, 6))
def test_every_method_agrees_with_scipy_components(drawn, min_area):
    decision, truth, counted, probabilities = drawn
    fake, real = FakeComponents(), ScipyComponents()

    np.testing.assert_array_equal(fake.remove_small(decision, min_area), real.remove_small(decision, min_area))
    assert fake.remove_small(decision, min_area).dtype == bool

    table, expected = fake.table(decision, truth), real.table(decision, truth)
    np.testing.assert_array_equal(table.areas, expected.areas)
    np.testing.assert_array_equal(table.hits, expected.hits)
    assert table.truth_pixels == expected.truth_pixels

    assert fake.records(probabilities, decision) == real.records(probabilities, decision)
    assert fake.match(truth, decision) == real.match(truth, decision)
    assert fake.match(truth, decision, counted) == real.match(truth, decision, counted)
    assert fake.calls == ["remove_small", "remove_small", "table", "records", "match", "match"]


@pytest.mark.parametrize("seed", range(5))
def test_agreement_on_larger_seeded_masks(seed):
    """Denser and larger than hypothesis draws: long diagonal chains, holes, touching corners."""
    rng = np.random.default_rng(seed)
    decision, truth = rng.random((40, 33)) < 0.45, rng.random((40, 33)) < 0.3
    probabilities = rng.random((40, 33)).astype(np.float32)
    fake, real = FakeComponents(), ScipyComponents()
    for min_area in (0, 2, 5, 30):
        np.testing.assert_array_equal(fake.remove_small(decision, min_area), real.remove_small(decision, min_area))
    np.testing.assert_array_equal(fake.table(decision, truth).areas, real.table(decision, truth).areas)
    np.testing.assert_array_equal(fake.table(decision, truth).hits, real.table(decision, truth).hits)
    assert fake.records(probabilities, decision) == real.records(probabilities, decision)
    assert fake.match(truth, decision) == real.match(truth, decision)


def test_eight_neighbours_join_a_diagonal_and_a_flat_mask_is_refused():
    diagonal = np.eye(4, dtype=bool)
    labels, count = flood_labels(diagonal)
    assert count == 1 and labels[diagonal].tolist() == [1, 1, 1, 1]
    assert FakeComponents().table(diagonal, diagonal).areas.tolist() == [4]
    with pytest.raises(ValueError, match="2-D"):
        flood_labels(np.zeros((2, 2, 1), bool))


def test_the_inspect_use_case_runs_on_the_fake_as_on_scipy():
    """min_area and the defect records through the Inspector's use case: the same verdict either way."""
    from tests.unit.test_use_cases import UseCaseFakes
    from unet_defects.adapters.fakes import FakeCalibrationStore
    from unet_defects.application.batching import ProbabilityMaps
    from unet_defects.application.inspector import InspectionPipeline, InspectUseCase
    from unet_defects.domain.calibration import Calibration
    from unet_defects.domain.data import DataSpec
    from unet_defects.domain.decision import Decision
    from unet_defects.domain.training import RunSpec

    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.train.execute()
    world.calibration = FakeCalibrationStore(Calibration(Decision(0.5, 3)))
    image = np.zeros((6, 9), np.uint8)
    image[0, 0] = image[2, 2] = image[3, 3] = image[4, 4] = image[1, 7] = image[2, 8] = 255  # 1, 3 and 2 pixels
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), normalize_data_method="zero_one")
    found = []
    for components in (FakeComponents(), ScipyComponents()):
        pipeline = InspectionPipeline(ProbabilityMaps(world.predictor), components)
        found.append(InspectUseCase(world.opener(data).open(), pipeline).inspect(image))
    fake, real = found
    np.testing.assert_array_equal(fake.mask, real.mask)
    assert fake.mask.sum() == 3 and fake.defective
    assert fake.defects == real.defects and [d.area for d in fake.defects] == [3]
