"""Which TensorFlow this machine installs (everything else is declared in pyproject.toml).

On Linux x86_64 the small CPU build (`tensorflow-cpu`), or TensorFlow with CUDA
(`tensorflow[and-cuda]`) when an NVIDIA GPU is attached; the regular `tensorflow` wheel
elsewhere. UNET_TENSORFLOW=cpu or UNET_TENSORFLOW=cuda chooses instead of the detection. pip
cannot make an extra replace a dependency, so the choice is made here, and never both.
"""

import importlib.util
import os
import platform
import sys
from pathlib import Path

from setuptools import setup


def _hardware():
    """adapters/hardware.py, loaded by path: it needs only the standard library."""
    spec = importlib.util.spec_from_file_location("unet_hardware", Path(__file__).parent / "adapters" / "hardware.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hardware = _hardware()
try:
    tensorflow = hardware.tensorflow_requirement(os.environ.get("UNET_TENSORFLOW", "auto"), sys.platform,
                                                 platform.machine(), hardware.nvidia_device_present())
except ValueError as error:
    raise SystemExit(str(error)) from None

setup(install_requires=[
    tensorflow,
    # tensorflow-cpu does not pull in TensorBoard, which tf.summary needs to write events.
    "tensorboard>=2.16",
    "dependency-injector>=4.41",
    "attrs>=23.1",
    "pyyaml>=6.0",
    "numpy>=1.26",
    "imageio>=2.31",
    # `unet report` draws its charts with it.
    "matplotlib>=3.7",
    # Connected defect components (min_area post-processing and calibration).
    "scipy>=1.10",
])
