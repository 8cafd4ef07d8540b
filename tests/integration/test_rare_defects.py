"""The own-data preset on data like an inspection line's: most images clean, a few small, faint
defects. Pixel cross-entropy on squashed images predicts background everywhere here; this test
fails if a change brings that collapse back to the preset."""

import pytest

from adapters.datasets.synthetic_rare import SyntheticRareSpec, generate
from configs.loader import load_experiment, preset_path
from entrypoints.container import build_container

pytestmark = pytest.mark.slow


def test_the_own_data_preset_finds_small_rare_defects(tmp_path):
    generate(SyntheticRareSpec(images=80, seed=4), tmp_path / "data")
    overrides = [f"train_input.dataset_path={tmp_path / 'data'}", "train_input.image_shape=[48, 48, 1]",
                 f"runconfig.model_dir={tmp_path / 'model'}", "runconfig.max_steps=140",
                 "runconfig.save_checkpoints_steps=140", "runconfig.tf_random_seed=1"]
    experiment = load_experiment(preset_path("params_folder.yaml"), overrides=overrides)
    container = build_container(experiment)
    results = container.train_and_evaluate().execute().evaluations
    result = results[-1]
    assert not result.balance.collapsed, result.warnings
    assert result.scores.defect_Dice > 0.3, result.scores
