"""`unet info`'s extras: an extra is installed only when what it finally brings is there."""

from importlib import metadata as real_metadata

import pytest

from unet_defects.adapters.tensorflow import machine

REQUIRES = {
    "unet-defects": ['tensorflow>=2.16', 'numpy>=1.26', 'tensorflow[and-cuda]>=2.16; extra == "cuda"',
                     'onnxruntime>=1.20; extra == "deploy"', 'unet-defects[deploy]; extra == "test"',
                     'pytest>=8; extra == "test"'],
    "tensorflow": ['numpy>=1.26', 'nvidia-cublas-cu12<13.0; extra == "and-cuda"',
                   'tensorflow-io-gcs-filesystem>=0.23; sys_platform == "win32" and extra == "gcs-filesystem"'],
}


class FakeMetadata:
    PackageNotFoundError = real_metadata.PackageNotFoundError

    def __init__(self, installed: set[str]) -> None:
        self.installed = installed

    def requires(self, name: str) -> list[str] | None:
        if name not in self.installed:
            raise self.PackageNotFoundError(name)
        return REQUIRES.get(name, [])

    def version(self, name: str) -> str:
        if name not in self.installed:
            raise self.PackageNotFoundError(name)
        return "1.0"


@pytest.mark.parametrize("installed, expected", [
    ({"unet-defects", "tensorflow", "numpy", "onnxruntime", "pytest"},
     {"cuda": False, "deploy": True, "test": True}),
    ({"unet-defects", "tensorflow", "numpy", "nvidia-cublas-cu12", "pytest"},
     {"cuda": True, "deploy": False, "test": False}),
])
def test_an_extra_of_an_extra_is_followed_to_what_it_brings(monkeypatch, installed, expected):
    monkeypatch.setattr(machine, "metadata", FakeMetadata(installed))
    assert dict(machine.installed_extras()) == expected


def test_an_uninstalled_project_has_no_extras(monkeypatch):
    monkeypatch.setattr(machine, "metadata", FakeMetadata(set()))
    assert machine.installed_extras() == ()
