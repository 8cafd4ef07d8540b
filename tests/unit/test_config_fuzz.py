"""Random YAML mappings: the loader returns valid specs or raises ConfigError, nothing else."""

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unet_defects.configs.loader import SECTION_SPECS, build_experiment, known_keys, load_experiment
from unet_defects.domain.errors import ConfigError
from unet_defects.domain.experiment import ExperimentSpec

ALL_KEYS = sorted({key for section in SECTION_SPECS for key in known_keys(section)})
BASE = {
    "train_input": {"dataset": "DAGM2007Dataset", "dataset_path": "/d", "image_shape": [64, 64, 1]},
    "runconfig": {"model_dir": "/m"},
}

scalars = (
    st.none() | st.booleans() | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8)
    | st.sampled_from(["adam", "channels_last", "zero_one", "dynamic", "ReLU", "train", "1e-4", "3x3_conv"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
keys = st.sampled_from(ALL_KEYS) | st.text(max_size=10) | st.integers(0, 5)
bodies = st.dictionaries(keys, values, max_size=5)
sections = st.sampled_from(sorted(SECTION_SPECS)) | st.text(max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(sections, bodies | values, max_size=4))
def test_random_mappings_give_specs_or_config_errors(changes):
    params = {section: dict(body) for section, body in BASE.items()}
    for section, body in changes.items():
        if isinstance(body, dict) and isinstance(params.get(section), dict):
            params[section].update(body)
        else:
            params[section] = body
    try:
        assert isinstance(build_experiment(params), ExperimentSpec)
    except ConfigError as error:
        assert "\n" not in str(error)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(SECTION_SPECS)), bodies, max_size=3))
def test_random_yaml_files_give_specs_or_config_errors(changes):
    params = {section: {**BASE.get(section, {}), **body} for section, body in {**BASE, **changes}.items()}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.yaml"
        path.write_text(yaml.safe_dump(params))
        try:
            load_experiment(path)
        except ConfigError:
            pass
