"""The automatic precision and data-format choice, from /proc/cpuinfo text and a GPU count, and
what a machine with an unused NVIDIA GPU or two TensorFlow builds is told."""

import pytest

from unet_defects.adapters.hardware import cpu_flags, cpu_model, installed_tensorflow, nvidia_device_present
from unet_defects.adapters.tensorflow.device import plan_device
from unet_defects.domain.experiment import PrecisionSpec
from unet_defects.domain.precision import Machine


def cpuinfo(*flags: str) -> str:
    """Two processors' worth of /proc/cpuinfo, as Linux prints it."""
    block = ("processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Some Xeon\n"
             "flags\t\t: fpu vme sse sse2 avx fma {flags}\n\n")
    return "".join(block.format(n=n, flags=" ".join(flags)) for n in range(2))


AMX = cpuinfo("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
BF16_ONLY = cpuinfo("avx2", "avx512f", "avx512_bf16")
AVX2_ONLY = cpuinfo("avx2")


def machine(text: str, gpus: int = 0, **facts) -> Machine:
    return Machine(gpus=gpus, cpu_flags=cpu_flags(text), **{"tensorflow": ("tensorflow-cpu",), **facts})


@pytest.mark.parametrize("text, gpus, policy, reason", [
    (AMX, 0, "mixed_bfloat16", "CPU with native bfloat16 (amx_bf16, avx512_bf16)"),
    (BF16_ONLY, 0, "mixed_bfloat16", "CPU with native bfloat16 (avx512_bf16)"),
    (AVX2_ONLY, 0, "float32", "CPU without native bfloat16 (no AMX or AVX512_BF16): float32"),
    (AVX2_ONLY, 1, "mixed_float16", "GPU: float16 compute with loss scaling"),
])
def test_mixed_precision_resolves_per_device(text, gpus, policy, reason):
    plan = plan_device(PrecisionSpec(mixed_precision=True), "channels_first", machine(text, gpus))
    assert (plan.policy, plan.device) == (policy, "GPU" if gpus else "CPU")
    assert plan.notes[0] == f"precision {policy}: {reason}"
    # channels_first (the reference presets) runs as channels_last on a CPU, as written on a GPU.
    assert plan.data_format == ("channels_first" if gpus else "channels_last")


def test_flags_come_from_the_flags_line_and_forced_choices_win():
    assert {"avx2", "amx_tile"} <= cpu_flags(AMX) and "avx512f" not in cpu_flags(AVX2_ONLY)
    assert cpu_flags("processor\t: 0\n") == set() and cpu_model(AMX) == "Some Xeon"
    off = plan_device(PrecisionSpec(mixed_precision=False), "channels_last", machine(AMX))
    assert off.policy == "float32" and off.notes == ("precision float32: model.mixed_precision is False",)
    forced = plan_device(PrecisionSpec(precision="mixed_float16", force_data_format=True), "channels_first",
                         machine(AVX2_ONLY))
    assert (forced.policy, forced.data_format) == ("mixed_float16", "channels_first")
    assert "emulated and slow" in forced.notes[0] and "kept (model.force_data_format)" in forced.notes[1]


def test_an_nvidia_device_is_found_by_its_device_nodes_or_nvidia_smi():
    assert nvidia_device_present(devices=lambda pattern: ["/dev/nvidia0"], which=lambda name: None)
    assert nvidia_device_present(devices=lambda pattern: [], which=lambda name: "/usr/bin/nvidia-smi")
    assert not nvidia_device_present(devices=lambda pattern: [], which=lambda name: None)
    assert isinstance(installed_tensorflow(), list)


def test_an_attached_gpu_that_tensorflow_does_not_see_is_one_line_naming_the_install():
    cpu_build = plan_device(PrecisionSpec(mixed_precision=True), "channels_last",
                            machine(AVX2_ONLY, nvidia_attached=True))
    warning, = cpu_build.notes[1:]
    assert warning.startswith("an NVIDIA GPU is attached but this TensorFlow is the CPU build")
    assert warning.endswith('pip uninstall -y tensorflow-cpu && pip install -e ".[cuda]"')
    cuda_build = plan_device(PrecisionSpec(), "channels_last",
                             machine(AVX2_ONLY, nvidia_attached=True, tensorflow=("tensorflow",)))
    assert "TensorFlow sees none" in cuda_build.notes[-1] and "nvidia-smi" in cuda_build.notes[-1]
    used = plan_device(PrecisionSpec(), "channels_last", machine(AVX2_ONLY, gpus=1, nvidia_attached=True))
    assert len(used.notes) == 1  # the GPU is used: nothing to say
    both = plan_device(PrecisionSpec(), "channels_last", machine(AVX2_ONLY, tensorflow=("tensorflow",
                                                                                        "tensorflow-cpu")))
    assert both.notes[-1].startswith("both tensorflow and tensorflow-cpu are installed")

