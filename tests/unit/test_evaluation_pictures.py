"""An evaluation's pictures: what they are drawn from, which evaluations draw them, the worst
images kept in one pass, and the drawing itself (kept, read back and drawn again)."""

import imageio.v3 as iio
import numpy as np
import pytest

from tests.unit.test_use_cases import UseCaseFakes, batch
from unet_defects.adapters.evaluation_charts import draw_all
from unet_defects.adapters.fakes import FakeDatasetReader, FakePictureWriter
from unet_defects.adapters.picture_files import PICTURE_DATA, FilePictureWriter, load_pictures, save_pictures
from unet_defects.application.evaluation import FinalEvaluationUseCase
from unet_defects.application.evaluation_pictures import PICTURE_FILES, EvaluationPictures, PartColumn
from unet_defects.application.values import SamplePicture
from unet_defects.application.worst_images import Tile, WorstImages, shrunk
from unet_defects.domain.curves import HISTOGRAM_BINS
from unet_defects.domain.errors import DataError
from unet_defects.domain.training import RunSpec


def picture(index: int, size: int = 8) -> SamplePicture:
    image = np.full((size, size), index, np.uint8)
    truth = np.zeros((size, size), bool)
    truth[1, 1] = True
    return SamplePicture(index, image, truth, ~truth)


def world_with_pictures():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    # image 0 found, image 1 a false alarm (bright, no defect), image 2 missed (a defect, nothing bright)
    found, alarm, missed = batch([(0, 0)], [(0, 0)], 1), batch([(2, 2)], [], 1), batch([], [(4, 4)], 1)
    world.reader = FakeDatasetReader([tuple(np.concatenate(parts) for parts in zip(found, alarm, missed))])
    writer = FakePictureWriter()
    world.train.execute()
    return world, writer, world.evaluate_with(pictures=writer)


def test_an_evaluation_draws_its_pictures_and_a_learning_curve_evaluation_does_not():
    world, writer, evaluate = world_with_pictures()
    curve = evaluate.execute(split="curve")
    assert writer.written == [] and curve.pictures is not None
    result = evaluate.execute()
    (drawn,) = writer.written
    assert drawn.split == "eval" and drawn.step == result.step
    part = drawn.part
    assert part.truth == result.part_truth == (True, False, True)
    assert part.flagged == result.part_flagged == (True, True, False)
    assert part.scores == result.part_scores
    assert part.histogram.shape == (2, HISTOGRAM_BINS) and part.histogram.sum() == 3 * 64  # every pixel counted
    assert part.histogram[1].sum() == 2  # the two defect pixels
    assert drawn.classes == ()  # one class: the part is the class
    assert [(tile.picture.index, tile.flagged) for tile in drawn.false_alarms] == [(1, True)]
    assert [tile.picture.index for tile in drawn.worst_dice] == [2]  # the missed defect; the good part is an alarm
    assert drawn.worst_dice[0].name == "image 2"  # the fake reader names no file
    assert drawn.part.pixel_counts == (1, 1, 1)  # image 0 found, image 1's false pixel, image 2's missed one


def test_the_final_scores_draw_a_reused_validation_evaluation():
    world, writer, evaluate = world_with_pictures()
    known = evaluate.execute(split="curve")
    evaluate._validation = True  # a validation part and test images
    final = FinalEvaluationUseCase(evaluate, world.best, world.artifacts).execute(chosen=True, known=[known])
    assert final is not None
    assert [pictures.split for pictures in writer.written] == ["eval", "test"]


def test_the_worst_images_are_kept_in_one_pass_and_pictured_only_when_kept():
    worst = WorstImages(size=2)
    built = []

    def make(index):
        def build():
            built.append(index)
            return picture(index)
        return build

    # (Dice, wrong pixels, part score, defective)
    figures = [(0.9, 5, 0.2, True), (0.0, 40, 0.3, True), (1.0, 0, 0.1, False), (0.0, 12, 0.8, False),
               (0.0, 90, 0.95, True), (1.0, 0, 0.99, True), (0.5, 7, 0.97, False)]
    for index, (dice, wrong, score, defective) in enumerate(figures):
        worst.offer(index, dice, wrong, score, defective, flagged=score > 0.5, picture=make(index))
    names = [f"f{index}" for index in range(len(figures))]
    # among Dice 0, the most pixels wrong first; good parts are never on the Dice list
    assert [(t.picture.index, t.figure, t.name) for t in worst.by_dice(names)] == [(4, 0.0, "f4"), (1, 0.0, "f1")]
    assert [(t.picture.index, t.figure, t.flagged) for t in worst.false_alarms([])] == [(6, 0.97, True),
                                                                                         (3, 0.8, True)]
    assert 5 not in built  # a defective part with a Dice of 1 is on neither list
    shrunk_tile = worst.by_dice(names)[0].picture
    assert shrunk_tile.image.base is None or shrunk_tile.image.base.size == shrunk_tile.image.size  # no view kept


def test_a_shrunk_tile_keeps_a_thin_defect():
    thin = SamplePicture(0, np.zeros((1000, 300), np.uint8), np.zeros((1000, 300), bool), np.zeros((1000, 300), bool))
    thin.truth[:, 151] = True  # one pixel wide: subsampling alone would lose it
    small = shrunk(thin, side=250)
    assert max(small.image.shape) <= 250 and small.truth.shape == small.image.shape
    assert small.truth.any(axis=1).all()


def pictures_with_a_head_and_two_classes() -> EvaluationPictures:
    rng = np.random.default_rng(0)

    def column(name):
        truth = tuple(bool(v) for v in rng.random(12) < 0.4)
        histogram = rng.integers(0, 50, (2, HISTOGRAM_BINS))
        return PartColumn(name=name, scores=tuple(float(v) for v in rng.random(12)), truth=truth,
                          flagged=tuple(bool(v) for v in rng.random(12) < 0.5), histogram=histogram,
                          pixel_threshold=0.5, part_threshold=0.4, rule_flagged=tuple(bool(v) for v in rng.random(12) < 0.6),
                          gate_flagged=tuple(bool(v) for v in rng.random(12) < 0.3))

    tiles = tuple(Tile(picture(i, 16), 0.1 * i, f"folder/{i}.png") for i in range(5))
    return EvaluationPictures(split="test", step=7, score_name="classifier", decision="threshold 0.5, gate 0.4",
                              part=column("every class"), classes=(column("scratch"), column("dent")),
                              worst_dice=tiles, false_alarms=(), gated=True)


def test_the_pictures_are_kept_read_back_and_drawn_again(tmp_path):
    pictures = pictures_with_a_head_and_two_classes()
    kept = save_pictures(pictures, tmp_path / PICTURE_DATA)
    back = load_pictures(tmp_path / PICTURE_DATA)
    assert kept.endswith(PICTURE_DATA)
    assert (back.split, back.step, back.score_name, back.decision, back.gated) == \
        ("test", 7, "classifier", pictures.decision, True)
    for before, after in zip((pictures.part, *pictures.classes), (back.part, *back.classes)):
        assert (after.name, after.scores, after.truth, after.flagged, after.rule_flagged, after.gate_flagged) == \
            (before.name, before.scores, before.truth, before.flagged, before.rule_flagged, before.gate_flagged)
        assert np.array_equal(after.histogram, before.histogram)
    assert [(t.name, t.figure) for t in back.worst_dice] == [(t.name, t.figure) for t in pictures.worst_dice]
    assert np.array_equal(back.worst_dice[3].picture.truth, pictures.worst_dice[3].picture.truth)
    written = draw_all(back, tmp_path)
    assert [path.rsplit("/", 1)[1] for path in written] == list(PICTURE_FILES)
    for path in written:
        assert iio.imread(path).shape[1] >= 400  # a readable width, whatever was drawn


def test_report_draws_every_split_again_from_what_was_kept(tmp_path):
    writer = FilePictureWriter(str(tmp_path))
    pictures = pictures_with_a_head_and_two_classes()
    writer.write(pictures)
    (tmp_path / "eval" / "test" / "pr_curves.png").unlink()
    redrawn = writer.redraw()
    assert (tmp_path / "eval" / "test" / "pr_curves.png").is_file()
    assert len(redrawn) == len(PICTURE_FILES)


def test_a_pictures_file_of_another_kind_or_cut_short_is_named_in_one_line(tmp_path):
    (tmp_path / PICTURE_DATA).write_bytes(b"not a zip")
    with pytest.raises(DataError, match=f"{PICTURE_DATA}: not a pictures file"):
        load_pictures(tmp_path / PICTURE_DATA)
    kept = tmp_path / "kept" / PICTURE_DATA
    kept.parent.mkdir()
    save_pictures(pictures_with_a_head_and_two_classes(), kept)
    kept.write_bytes(kept.read_bytes()[: kept.stat().st_size // 2])
    with pytest.raises(DataError, match="evaluate again"):
        load_pictures(kept)


def test_report_draws_the_good_split_when_the_other_file_is_broken(tmp_path):
    writer = FilePictureWriter(str(tmp_path))
    writer.write(pictures_with_a_head_and_two_classes())  # eval/test/
    (tmp_path / "eval" / PICTURE_DATA).write_bytes(b"broken")
    assert len(writer.redraw()) == len(PICTURE_FILES)


def test_with_a_head_the_rule_and_the_gate_are_apart_per_class_and_pooled():
    from unet_defects.application.evaluation_pictures import picture_inputs
    from unet_defects.application.evaluation_tally import EvaluationTally
    from unet_defects.application.values import ImageEvaluation
    from unet_defects.domain.decision import Decision
    from unet_defects.domain.gate import Gate, GateRow
    from unet_defects.domain.metrics import ConfusionMatrix

    tally = EvaluationTally(1)
    # (head probability, largest kept component, truth pixels) per class, per image
    images = [((0.9, 0, 3), (0.1, 0, 0)), ((0.2, 5, 0), (0.3, 4, 2)), ((0.1, 0, 0), (0.05, 0, 0))]
    for index, classes in enumerate(images):
        rows = tuple(GateRow(probability, area, 0, area, truth) for probability, area, truth in classes)
        counts = tuple((ConfusionMatrix(tn=10, fp=area, fn=truth, tp=0),) for _, area, truth in classes)
        tally.add(ImageEvaluation(class_counts=counts, picture=lambda i=index: picture(i),
                                  class_peaks=(0.5, 0.5), class_scores=tuple(p for p, _, _ in classes),
                                  class_flagged=tuple((p >= 0.5,) for p, _, _ in classes), gate_rows=rows))
    decisions = [Decision(threshold=0.5, gate=Gate(threshold=0.5), gated=True, class_id=k) for k in (1, 2)]
    from unet_defects.application.evaluation_result import EvaluationResult
    from unet_defects.domain.metrics import Scores

    scores = Scores.compute(ConfusionMatrix(), [], None, [])
    result = EvaluationResult(step=3, scores=scores, num_images=3, per_image_dice=(), split="test",
                              score_name="classifier", decision="gate", per_class=((1, "scratch", scores),
                                                                                   (2, "dent", scores)),
                              part_scores=tuple(tally.scores), part_truth=tuple(tally.defective()),
                              part_flagged=tuple(tally.flagged[0]))
    drawn = picture_inputs(result, tally, decisions, WorstImages())
    assert drawn.gated and [c.name for c in drawn.classes] == ["scratch", "dent"]
    # the gate in force: its verdicts are the decision's own (class_flagged), not recomputed
    assert drawn.classes[0].rule_flagged == (False, True, False) and drawn.classes[0].gate_flagged == (True, False, False)
    assert drawn.classes[1].rule_flagged == (False, True, False) and drawn.classes[1].gate_flagged == (False, False, False)
    assert drawn.part.rule_flagged == (False, True, False) and drawn.part.gate_flagged == (True, False, False)
    assert drawn.part.pixel_counts == (0, 9, 5)  # every class's at the decision, pooled
    assert drawn.part.truth == (True, True, False) and drawn.part.scores == (0.9, 0.3, 0.1)
    assert drawn.part.part_threshold == 0.5  # the gate's threshold on the head's probability
