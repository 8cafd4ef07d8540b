"""`unet info` from probed facts: the precision a run would get here, and what is wrong."""

import json

from unet_defects.adapters.fakes import FakeMachineProbe
from unet_defects.application.info import InfoUseCase, MachineFacts
from unet_defects.reporting import print_info


def facts(**changes) -> MachineFacts:
    values = dict(project_version="0.1.0", python_version="3.11.7", tensorflow_version="2.21.0",
                  keras_version="3.15.1", tensorflow_distributions=("tensorflow-cpu",), cpu_model="AMD EPYC",
                  cpu_flags={"avx2", "fma"}, cores=2, gpus=(), nvidia_attached=False, intra_op_threads=0,
                  inter_op_threads=0, extras=(("test", True),))
    return MachineFacts(**{**values, **changes})


def test_info_names_versions_flags_precision_and_extras(capsys):
    report = InfoUseCase(FakeMachineProbe(facts())).execute()
    assert (report.plan.policy, report.plan.data_format) == ("float32", "channels_last") and report.warnings == ()
    print_info(report)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("unet-defects 0.1.0, Python 3.11.7, TensorFlow 2.21.0 (tensorflow-cpu), Keras 3.15.1")
    assert lines[1] == ("CPU: AMD EPYC, 2 cores; avx2 yes, fma yes, avx512f no, avx512_bf16 no, amx_bf16 no, "
                        "amx_tile no")
    assert lines[2] == "GPUs TensorFlow sees: none (no NVIDIA device attached)"
    assert lines[3] == ("mixed_precision: True resolves to float32, channels_last on the CPU: CPU without native "
                        "bfloat16 (no AMX or AVX512_BF16): float32")
    assert lines[4:] == ["threads: intra-op 0 (TensorFlow chooses), inter-op 0 (TensorFlow chooses)",
                         "extras installed: test yes"]


def test_info_as_json_for_machines(capsys):
    bf16 = facts(cpu_flags={"avx2", "avx512f", "avx512_bf16"}, nvidia_attached=True)
    print_info(InfoUseCase(FakeMachineProbe(bf16)).execute(), as_json=True)
    payload = json.loads(capsys.readouterr().out)
    assert payload["cpu_flags"] == {"avx2": True, "fma": False, "avx512f": True, "avx512_bf16": True,
                                    "amx_bf16": False, "amx_tile": False}
    assert payload["mixed_precision"] == {"precision": "mixed_bfloat16", "data_format": "channels_last",
                                          "device": "CPU", "why": "CPU with native bfloat16 (avx512_bf16)"}
    assert payload["extras"] == {"test": True} and payload["gpus"] == []
    assert payload["warnings"][0].startswith("an NVIDIA GPU is attached but this TensorFlow is the CPU build")


def test_info_warns_when_two_tensorflow_builds_are_installed(capsys):
    report = InfoUseCase(FakeMachineProbe(facts(tensorflow_distributions=("tensorflow", "tensorflow-cpu")))).execute()
    print_info(report)
    out = capsys.readouterr().out
    assert "TensorFlow 2.21.0 (tensorflow, tensorflow-cpu)" in out.splitlines()[0]
    assert ("both tensorflow and tensorflow-cpu are installed, which overwrite each other; reinstall one: "
            "pip uninstall -y tensorflow tensorflow-cpu && pip install -e .") in out
