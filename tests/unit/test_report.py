import pytest

from unet_defects.adapters.fakes import FakeRunHistory, RecordingRenderer
from unet_defects.adapters.summary_tags import parse, score_tag, threshold_tag
from unet_defects.application.report import ReportUseCase
from unet_defects.application.values import RunScalars
from unet_defects.domain.errors import DataError


def FakeHistory(train, evaluation):
    """The history a run writes, through the tag names its writer and reader share."""
    scores, by_threshold = {}, {}
    for tag, series in evaluation.items():
        threshold, name = parse(tag)
        (scores if threshold is None else by_threshold.setdefault(threshold, {}))[name] = tuple(series)
    return FakeRunHistory(RunScalars(training={k: tuple(v) for k, v in train.items()}, evaluation=scores,
                                     by_threshold=by_threshold))


def test_writer_and_reader_share_the_tag_names():
    assert parse(score_tag("defect_Dice")) == (None, "defect_Dice")
    assert parse(threshold_tag(0.25, "mIOU")) == (0.25, "mIOU")
    assert parse("loss") is None and parse("eval_at_x/mIOU") is None


def test_report_draws_loss_scores_and_the_threshold_curve_of_the_last_evaluation():
    evaluation = {
        "eval/mIOU": [(10, 0.5), (20, 0.7)],
        "eval/defect_Dice": [(10, 0.4), (20, 0.6)],
        "eval_at_0.1/defect_Dice": [(10, 0.1), (20, 0.3)],
        "eval_at_0.5/defect_Dice": [(10, 0.2), (20, 0.6)],
        "eval_at_0.9/defect_Dice": [(20, 0.5)],
    }
    renderer = RecordingRenderer()
    outcome = ReportUseCase(FakeHistory({"loss": [(0, 0.9), (10, 0.5)]}, evaluation), renderer, "m").execute()
    assert outcome.path == "m/report.png"
    (_, _, panels), = renderer.drawn
    loss, scores, thresholds = panels
    assert loss.lines == (("loss", ((0.0, 0.9), (10.0, 0.5))),)
    assert [label for label, _ in scores.lines] == ["mIOU", "defect_Dice"]
    assert "step 20" in thresholds.title
    assert thresholds.lines == (("defect_Dice", ((0.1, 0.3), (0.5, 0.6), (0.9, 0.5))),)


def test_report_without_any_summaries_says_to_train_first():
    with pytest.raises(DataError, match="m: no training or evaluation summaries found"):
        ReportUseCase(FakeHistory({}, {}), RecordingRenderer(), "m").execute()


def test_report_draws_the_evaluation_pictures_again_after_its_chart():
    from unet_defects.adapters.fakes import FakePictureWriter

    pictures = FakePictureWriter()
    outcome = ReportUseCase(FakeHistory({"loss": [(0, 0.9)]}, {}), RecordingRenderer(), "m", pictures).execute()
    assert pictures.redrawn == 1 and outcome.pictures == ()  # nothing kept yet: nothing drawn
