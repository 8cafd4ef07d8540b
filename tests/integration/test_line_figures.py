"""The figure a run reports is the figure the line gets: a crop-trained model with a classifier
head and its applied verdict, on test images larger than its training crop, scores the same
part scores, verdicts and masks in evaluation (results.json), `unet predict` and the Inspector."""

import json

import imageio.v3 as iio
import numpy as np
import pytest

from unet_defects.adapters.datasets.synthetic_rare import SyntheticRareSpec, generate
from unet_defects.configs.loader import load_experiment, preset_path
from unet_defects.container import build_container
from unet_defects.domain.metrics import image_auroc

pytestmark = pytest.mark.slow
CROP = 48


@pytest.fixture(scope="module")
def line_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("line")
    generate(SyntheticRareSpec(images=40, seed=1, min_side=40, max_side=120, defective_fraction=0.4), root / "data" / "train")
    generate(SyntheticRareSpec(images=14, seed=2, min_side=70, max_side=130, defective_fraction=0.5), root / "data" / "test")
    overrides = [f"train_input.dataset_path={root / 'data'}", f"train_input.image_shape=[{CROP}, {CROP}, 1]",
                 "train_input.validation_split=0.25", f"runconfig.model_dir={root / 'model'}",
                 "runconfig.max_steps=16", "runconfig.save_checkpoints_steps=16", "runconfig.tf_random_seed=3",
                 "model.classifier_head=true", "model.decision_gate=classifier", "runconfig.calibrate=true"]
    experiment = load_experiment(preset_path("params_folder.yaml"), overrides=overrides)
    container = build_container(experiment)
    done = container.train_and_evaluate().execute()
    return root, container, done


def test_evaluation_predict_and_the_inspector_give_the_same_part_scores_and_verdicts(line_model):
    from unet_defects.api import Inspector

    root, container, done = line_model
    assert done.calibration is not None  # calibrated on the validation part before the test
    test = done.final.test
    images = sorted((root / "data" / "test" / "images").iterdir())
    shapes = [iio.imread(path).shape for path in images]
    assert sum(max(shape) > CROP for shape in shapes) == len(shapes)  # every one is tiled by predict
    container.predict().execute([str(root / "data" / "test" / "images")], str(root / "out"))
    lines = {json.loads(line)["file"]: json.loads(line)
             for line in (root / "out" / "predictions.jsonl").read_text().splitlines()}
    predicted = [lines[next(name for name in lines if name.endswith(path.name))] for path in images]
    masks = [root / "data" / "test" / "masks" / f"{path.stem}.png" for path in images]
    truth = [mask.is_file() and bool((iio.imread(mask) > 0).any()) for mask in masks]  # no mask: a good part
    scores = [line["score"] for line in predicted]
    flagged = [line["defective"] for line in predicted]
    assert test.score_name == "classifier"
    assert test.scores.image_AUROC == pytest.approx(image_auroc(scores, truth), abs=1e-12)
    point = test.operating_point
    assert (point.found, point.stopped) == (sum(f and t for f, t in zip(flagged, truth)),
                                            sum(f and not t for f, t in zip(flagged, truth)))
    inspector = Inspector.open(model_dir=str(root / "model"))
    for path, line in zip(images, predicted):
        found = inspector.inspect(iio.imread(path))
        assert found.score == pytest.approx(line["score"], abs=1e-6) and found.defective == line["defective"]
        mask = iio.imread(root / "out" / f"{path.stem}_mask.png") > 0
        assert np.array_equal(found.mask, mask)


def test_the_run_draws_its_pictures_from_the_figures_the_line_gets(line_model):
    """The validation and the test images' pictures are drawn at the run's end, from the part
    scores and verdicts that predict gives the same images, the rule and the gate apart."""
    from unet_defects.adapters.picture_files import PICTURE_DATA, load_pictures
    from unet_defects.application.evaluation_pictures import PICTURE_FILES

    root, container, done = line_model
    for folder in (root / "model" / "eval", root / "model" / "eval" / "test"):
        assert all((folder / name).stat().st_size > 0 for name in PICTURE_FILES), folder
    drawn = load_pictures(root / "model" / "eval" / "test" / PICTURE_DATA)
    test = done.final.test
    assert (drawn.split, drawn.step, drawn.gated) == ("test", test.step, True)
    assert drawn.part.scores == test.part_scores and drawn.part.flagged == test.part_flagged
    assert len(drawn.part.rule_flagged) == len(drawn.part.gate_flagged) == test.num_images
    assert drawn.part.flagged == drawn.part.gate_flagged  # the gate decides
    container.predict().execute([str(root / "data" / "test" / "images")], str(root / "out_pictures"))
    lines = [json.loads(line) for line in (root / "out_pictures" / "predictions.jsonl").read_text().splitlines()]
    assert sorted(drawn.part.scores) == pytest.approx(sorted(line["score"] for line in lines), abs=1e-6)
    names = {f"images/{path.name}" for path in (root / "data" / "test" / "images").iterdir()}
    assert {tile.name for tile in drawn.worst_dice + drawn.false_alarms} <= names
    assert drawn.part.histogram.sum() == sum(iio.imread(path).size for path in (root / "data" / "test" / "images").iterdir())
