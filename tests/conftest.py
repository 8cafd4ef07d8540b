import contextlib
import gc
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unet_defects.adapters.hardware import cpu_flags
from unet_defects.domain.precision import native_bf16_flags

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"


# A test that forces model.precision mixed_bfloat16 runs where the project would choose it: on a
# CPU without native bfloat16 the project trains float32, and oneDNN may have no bfloat16
# convolution to run (seen with ONEDNN_MAX_CPU_ISA=AVX2 on an AVX-512 CPU).
needs_native_bf16 = pytest.mark.skipif(
    not native_bf16_flags(cpu_flags()),
    reason="this CPU has no native bfloat16 (amx_bf16 or avx512_bf16): the project trains float32 here")


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip("../shared/realdata is absent")
    return REAL_DATA


@pytest.fixture(scope="session")
def tiny_dagm(tmp_path_factory) -> Path:
    """A small synthetic DAGM-layout dataset (32x32 images), generated once per session."""
    from unet_defects.adapters.datasets.synthetic_dagm import SyntheticDagmSpec, generate

    root = tmp_path_factory.mktemp("tiny_dagm")
    generate(SyntheticDagmSpec(class_ids=(1, 2), train_images=12, test_images=5, image_size=32, seed=3), root)
    return root


def tiny_params(dataset_path: Path, model_dir: Path, **runconfig) -> dict:
    """A config mapping for fast tests: 32x32 images, a narrow two-level UNet."""
    return {
        "train_input": {
            "dataset": "DAGM2007Dataset", "dataset_path": str(dataset_path), "class_id": 1,
            "image_shape": [32, 32, 1], "train_batch_size": 4, "eval_batch_size": 3,
            "normalize_data_method": "zero_centered", "seed": 5,
        },
        "model": {"encoder_filters": [4, 8], "decoder_filters": [4], "data_format": "channels_last"},
        "optimizer": {"learning_rate": 1.0e-3},
        "runconfig": {
            "model_dir": str(model_dir), "max_steps": 4, "save_checkpoints_steps": 2,
            "save_summary_steps": 2, "log_step_count_steps": 2, "tf_random_seed": 7, **runconfig,
        },
    }


def unet_in_process(*args: str) -> subprocess.CompletedProcess:
    """`unet ARGS` through the CLI's entry point in this process: the same parsing, use cases
    and error lines as a real process, without a TensorFlow start-up per call."""
    from unet_defects.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors
            status = exit_.code if isinstance(exit_.code, int) else 1
    return subprocess.CompletedProcess(["unet", *args], status, out.getvalue(), err.getvalue())


@pytest.fixture(autouse=True, scope="module")
def _release_input_pipelines():
    """Collect each module's leftover tf.data iterators when it ends: freed at interpreter exit
    instead, their threads made the test process wait minutes after its last test. What
    survives is frozen, so the next module's collection walks only newer objects: a full walk
    of TensorFlow's heap took 1 s per module on the slowest CPU (80 modules)."""
    yield
    gc.collect()
    gc.freeze()


_FINISHED: dict[str, int] = {}


def pytest_sessionfinish(session, exitstatus):
    _FINISHED["status"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """End the test process as soon as pytest has reported. Left to the interpreter's
    teardown, the tf.data iterators still referenced from compiled functions are destroyed one
    by one, each waiting for its pipeline threads: that kept the process alive 100 s and more
    after the summary line (seen with py-spy: ~IteratorResource in EagerTensor_dealloc)."""
    if "status" in _FINISHED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_FINISHED["status"])


@pytest.fixture(scope="session")
def trained_tiny(tiny_dagm, tmp_path_factory) -> Path:
    """One tiny model_dir trained once per session (12 steps of the tiny config), for the tests
    that only run a trained model."""
    from unet_defects.container import build_container

    model_dir = tmp_path_factory.mktemp("trained_tiny")
    build_container(tiny_params(tiny_dagm, model_dir, max_steps=12)).train().execute()
    return model_dir


class _TinyExports:
    """The session's tiny model exported once per format, on first use: `exports["onnx"]`,
    `exports["openvino-int8"]`, ... (formats as `unet export --format`, "-int8" for --int8)."""

    def __init__(self, model_dir: Path, root: Path) -> None:
        self._model_dir, self._root, self._made = model_dir, root, {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._made:
            from unet_defects.container import build_container

            fmt, _, int8 = name.partition("-")
            container = build_container(str(self._model_dir / "params.yaml"), {"model_dir": str(self._model_dir)})
            container.export().execute(str(self._root / name), format=fmt, int8=bool(int8), calibration_images=16)
            self._made[name] = self._root / name
        return self._made[name]


@pytest.fixture(scope="session")
def tiny_exports(trained_tiny, tmp_path_factory) -> _TinyExports:
    """Exports of `trained_tiny`, shared by the tests that only read them."""
    return _TinyExports(trained_tiny, tmp_path_factory.mktemp("tiny_exports"))
