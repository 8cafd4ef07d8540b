"""The best checkpoint kept beside the rotating ones, and a collapse to background named."""

import re

import numpy as np
import yaml

from tests.unit.test_use_cases import UseCaseFakes, batch
from unet_defects.adapters.fakes import FakeDatasetReader, FakeImageSource, FakeModelBuilder
from unet_defects.application.training import TrainAndEvaluateUseCase
from unet_defects.configs.loader import preset_path
from unet_defects.domain.data import DataSpec
from unet_defects.domain.invocation import Invocation
from unet_defects.domain.metrics import DefectBalance
from unet_defects.domain.training import RunSpec


def test_keep_best_survives_rotation_and_is_what_predict_loads():
    run = RunSpec(model_dir="m", max_steps=12, save_checkpoints_steps=3, keep_checkpoint_max=2, keep_best="defect_Dice")
    world = UseCaseFakes(run)
    # Truth: the bright pixel (0, 0) only. Probabilities are sigmoid(pixel - cutoff): a cut-off
    # above 1 predicts nothing (Dice 0), 0.5 the bright pixel only (Dice 1), below 0 everything.
    world.builder = FakeModelBuilder(cutoffs={3: 1.2, 6: 0.5, 9: -0.1, 12: 1.5})
    world.train = world.train_with(Invocation())
    world.evaluate = world.evaluate_with(evaluator=world.evaluator, run=run)
    results = TrainAndEvaluateUseCase(world.train, world.evaluate, world.checkpoints).execute().evaluations
    assert [round(r.scores.defect_Dice, 3) for r in results] == [0.0, 1.0, round(2 / 65, 3), 0.0]
    assert [r.best is not None for r in results] == [True, True, False, False]
    assert sorted(world.checkpoints.saved) == [9, 12]  # rotation dropped step 6 from the rotating ones...
    kept = world.best.best()
    assert (kept.checkpoint.step, kept.score, kept.value) == (6, "defect_Dice", 1.0)
    world.checkpoints.saved[6] = 6  # ...and the keeper's copy of it (a file copy in the real adapter)
    bright = np.zeros((8, 8), np.uint8)
    bright[0, 0] = 255
    data = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), normalize_data_method="zero_one")
    report = world.predict(FakeImageSource({"in/a.png": bright}), data).execute(["in/"], "out")
    assert report.step == 6 and report.source == "the best checkpoint, step 6 (defect_Dice 1.0000)"
    assert world.artifacts.predictions["in/a.png"].sum() == 1
    export = world.export(data).execute("exported")
    assert export.step == 6 and export.source.startswith("the best checkpoint")


def test_a_model_that_predicts_nothing_is_named_collapsed_with_what_helps():
    world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
    world.reader = FakeDatasetReader([batch([], [(0, 0), (1, 1)])])  # defects in the truth, nothing bright
    world.evaluate = world.evaluate_with(evaluator=world.evaluator)
    world.train.execute()
    result = world.evaluate.execute()
    assert result.balance == DefectBalance(true_fraction=2 / 64, predicted_fraction=0.0)
    warning, = result.warnings
    assert warning.startswith("the model predicts almost no defect pixels (0.000 % of the pixels against 3.125 %")
    # Every setting it names is a real key, and the own-data preset holds that value.
    named = re.findall(r"(\w+)\.(\w+): ([\w.]+?)[,]? ", warning)
    assert len(named) == 4
    preset = yaml.safe_load(preset_path("params_folder.yaml").read_text())
    for section, key, value in named:
        assert str(preset[section][key]) == value, (section, key)
    saved = result.as_dict()
    assert saved["true_defect_fraction"] == 2 / 64 and saved["predicted_defect_fraction"] == 0.0
    assert saved["collapsed"] is True and saved["checkpoint"] == "memory://ckpt-1"


def test_a_model_that_finds_the_defects_is_not_collapsed():
    assert not DefectBalance(0.02, 0.002).collapsed and DefectBalance(0.02, 0.0009).collapsed
    assert not DefectBalance(0.0, 0.0).collapsed  # nothing to find: nothing missed
