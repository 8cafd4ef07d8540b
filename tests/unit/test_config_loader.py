from pathlib import Path

import pytest
import yaml

from unet_defects.configs.loader import PRESETS_DIR, build_experiment, load_config, load_experiment, to_mapping, write_resolved
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.invocation import Invocation

REFERENCE_PRESETS = [
    "params_dagm.yaml",
    "params_dagm_tfrecords.yaml",
    "params_severstal.yaml",
    "params_severstal_tfrecords.yaml",
]


@pytest.mark.parametrize("name", REFERENCE_PRESETS)
def test_reference_presets_load_unchanged(name):
    experiment = load_experiment(PRESETS_DIR / name)
    assert experiment.model.parameter_count() == 1_925_025
    assert experiment.model.data_format == "channels_first"
    assert experiment.precision.mixed_precision is True
    assert experiment.optimizer.loss_scaling_factor == "dynamic"
    assert experiment.run.keep_checkpoint_max == 2


def test_reference_values_per_preset():
    dagm = load_experiment(PRESETS_DIR / "params_dagm.yaml")
    assert (dagm.data.train_batch_size, dagm.data.eval_batch_size, dagm.data.class_id) == (64, 32, 1)
    assert dagm.data.only_defective_images and dagm.data.normalize_data_method == "zero_centered"
    assert (dagm.optimizer.learning_rate, dagm.run.max_steps) == (1e-4, 6000)
    severstal = load_experiment(PRESETS_DIR / "params_severstal.yaml")
    assert (severstal.data.train_batch_size, severstal.data.class_id, severstal.data.train_test_split) == (256, 3, 0.85)
    assert (severstal.optimizer.learning_rate, severstal.run.max_steps) == (5e-4, 12000)
    tfrecords = load_experiment(PRESETS_DIR / "params_severstal_tfrecords.yaml")
    assert tfrecords.data.normalize_data_method is None and tfrecords.data.num_parallel_reads == 16


def minimal(**sections):
    params = {
        "train_input": {"dataset": "DAGM2007Dataset", "dataset_path": "/data", "image_shape": [64, 64, 1]},
        "runconfig": {"model_dir": "/models/x"},
    }
    for section, values in sections.items():
        params.setdefault(section, {}).update(values)
    return params


def test_missing_keys_get_the_reference_defaults():
    experiment = build_experiment(minimal())
    assert experiment.model.nonlinearity == "ReLU"
    assert experiment.model.data_format == "channels_first"
    assert experiment.precision.mixed_precision is False
    assert experiment.optimizer.loss_scaling_factor == 1.0
    assert experiment.run.save_checkpoints_steps == 1000 and experiment.run.keep_checkpoint_max == 5
    assert experiment.run.save_summary_steps == 100 and experiment.optimizer.grad_accum_steps == 1


@pytest.mark.parametrize(
    "params, message",
    [
        (minimal(train_input={"shufle": True}), "train_input.shufle: unknown key; did you mean 'train_input.shuffle'"),
        (minimal(model={"encoder_filter": [1, 2]}), "model.encoder_filter: unknown key; did you mean 'model.encoder_filters'"),
        (minimal(runconfig={"mixed_precision": True}), "runconfig.mixed_precision: unknown key; it belongs in section 'model'"),
        ({**minimal(), "modle": {}}, "modle: unknown section; did you mean 'model'"),
        (minimal(train_input={"train_batch_size": 0}), "train_input.train_batch_size: must be >= 1"),
        (minimal(train_input={"train_batch_size": "eight"}), "train_input.train_batch_size: expected an integer"),
        (minimal(runconfig={"max_steps": -5}), "runconfig.max_steps: must be >= 0"),
        (minimal(optimizer={"optimizer_type": "adagrad"}), "optimizer.optimizer_type: unknown value 'adagrad'"),
        (minimal(optimizer={"learning_rate": -1.0}), "optimizer.learning_rate: must be > 0"),
        (minimal(model={"decoder_filters": [1]}), "model.decoder_filters: must be one shorter"),
        (minimal(train_input={"image_shape": [60, 64, 1]}), "train_input.image_shape: height 60 is not divisible by 8"),
        (minimal(train_input={"dataset_path": None}), "train_input.dataset_path: expected a string"),
        ({"runconfig": {"model_dir": "m"}}, "train_input.dataset: required key is missing"),
        (minimal(runconfig={"enable_distributed": True}, optimizer={"loss_scaling_factor": "dynamic"}), "use 'tf_dynamic'"),
        (minimal(csconfig={"use_cbfloat16": True}), "csconfig.use_cbfloat16: needs model.mixed_precision"),
        (minimal(model={"decision_threshold": 1.5}), "model.decision_threshold: a probability threshold must be in (0, 1)"),
        (minimal(model={"decision_space": "odds"}), "model.decision_space: unknown value 'odds'"),
        (minimal(model={"eval_thresholds": [0.5, 1.0]}), "model.eval_thresholds: every threshold must be a probability"),
    ],
)
def test_bad_configs_fail_with_one_line_naming_the_key(params, message):
    with pytest.raises(ConfigError) as caught:
        build_experiment(params)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_yaml_numbers_without_a_dot_are_accepted(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(minimal()) + "optimizer:\n  learning_rate: 1e-4\n")
    assert load_experiment(path).optimizer.learning_rate == 1e-4


def test_cli_runconfig_and_set_overrides_win(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(minimal(runconfig={"max_steps": 10})))
    experiment, invocation = load_config(
        path, runconfig={"max_steps": 20, "mode": None}, overrides=["train_input.class_id=3", "model.mixed_precision=true"]
    )
    assert experiment.run.max_steps == 20 and invocation.mode == "train"
    assert experiment.data.class_id == 3 and experiment.precision.mixed_precision is True
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_experiment(path, overrides=["max_steps=3"])


def test_yaml_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("train_input:\n  dataset: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml:\d+"):
        load_experiment(path)
    with pytest.raises(ConfigError, match="params file not found"):
        load_experiment(tmp_path / "absent.yaml")


def test_resolved_params_round_trip(tmp_path):
    experiment = build_experiment(minimal(eval_input={"eval_batch_size": 3}))
    written = write_resolved(experiment, tmp_path / "model")
    assert written == Path(tmp_path / "model" / "params.yaml")
    reloaded = load_experiment(written)
    assert reloaded == experiment
    assert reloaded.eval_data.eval_batch_size == 3 and reloaded.data.eval_batch_size == 8
    assert to_mapping(reloaded) == yaml.safe_load(written.read_text())


def test_one_calls_flags_are_read_but_never_written(tmp_path):
    flags = {"mode": "eval", "steps": 100, "checkpoint_path": "elsewhere/model.ckpt-3", "device": "/cpu:0",
             "warmup_steps": 2, "with_input_pipeline": True}
    experiment, invocation = load_config(minimal(runconfig={"max_steps": 9, **flags}))
    assert (invocation.mode, invocation.steps, invocation.checkpoint_path) == ("eval", 100, "elsewhere/model.ckpt-3")
    assert (invocation.device, invocation.warmup_steps, invocation.with_input_pipeline) == ("/cpu:0", 2, True)
    saved = yaml.safe_load(write_resolved(experiment, tmp_path / "model").read_text())
    assert saved["runconfig"]["max_steps"] == 9
    assert not set(flags) & set(saved["runconfig"])
    assert load_config(tmp_path / "model" / "params.yaml")[1] == Invocation()


def test_demo_preset_is_the_default():
    experiment, invocation = load_config(None)
    assert experiment.data.synthetic is not None and invocation.mode == "train_and_eval"
    assert "~" not in experiment.data.dataset_path


def test_the_demo_trains_within_its_budget_of_4_1_tflop():
    """Sized for the slowest CPU seen (2-core first-generation EPYC, float32, about 34 GFLOP/s):
    4.35 TFLOP made the whole demo 3 min 6 s there (emulated, start-up and evaluation included),
    so at most 4.1 keep it within 3 minutes."""
    experiment = load_experiment(None)
    cost = experiment.training_cost(experiment.run.max_steps)
    assert cost.flops <= 4.1e12, cost.describe()
    assert cost.describe() == "2,080 images x 1.94 GFLOP = 4.04 TFLOP (forward and backward)"
    assert experiment.model.encoder_filters == (16, 32, 64, 128)  # the reference presets keep (32, ..., 256)
    assert load_experiment(PRESETS_DIR / "params_dagm.yaml").model.encoder_filters == (32, 64, 128, 256)
