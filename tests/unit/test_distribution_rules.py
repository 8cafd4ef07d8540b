import json

import pytest

from unet_defects.adapters.tensorflow.distribution import check_compatible
from unet_defects.configs.loader import build_experiment
from unet_defects.domain.errors import ConfigError


def experiment(runconfig=None, optimizer=None):
    return build_experiment({"train_input": {"dataset": "DAGM2007Dataset", "image_shape": [32, 32, 1]},
                             "runconfig": {"model_dir": "m", **(runconfig or {})}, "optimizer": optimizer or {}})


def test_the_reference_rule_dynamic_scaling_with_distribution_names_tf_dynamic():
    with pytest.raises(ConfigError, match="use 'tf_dynamic'"):
        experiment({"enable_distributed": True}, {"loss_scaling_factor": "dynamic"})


@pytest.mark.parametrize("runconfig, optimizer, message", [
    ({"multiple_workers": True}, {}, "multiple_workers: needs runconfig.enable_distributed"),
    ({"enable_distributed": True}, {"grad_accum_steps": 2}, "grad_accum_steps: not combined"),
    ({"enable_distributed": True, "multiple_workers": True}, {}, "TF_CONFIG must name the cluster"),
])
def test_what_distribution_does_not_combine_with_is_one_line(runconfig, optimizer, message, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ConfigError, match=message):
        check_compatible(experiment(runconfig, optimizer))


def test_a_well_formed_tf_config_passes(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}))
    check_compatible(experiment({"enable_distributed": True, "multiple_workers": True}))
