"""The automatic precision and data-format choice, from /proc/cpuinfo text and a GPU count."""

import pytest

from adapters.tensorflow.device import cpu_flags, plan_device
from domain.experiment import PrecisionSpec


def cpuinfo(*flags: str) -> str:
    """Two processors' worth of /proc/cpuinfo, as Linux prints it."""
    block = ("processor\t: {n}\nvendor_id\t: GenuineIntel\nmodel name\t: Some Xeon\n"
             "flags\t\t: fpu vme sse sse2 avx fma {flags}\n\n")
    return "".join(block.format(n=n, flags=" ".join(flags)) for n in range(2))


AMX = cpuinfo("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
BF16_ONLY = cpuinfo("avx2", "avx512f", "avx512_bf16")
AVX2_ONLY = cpuinfo("avx2")


@pytest.mark.parametrize("text, gpus, policy, reason", [
    (AMX, 0, "mixed_bfloat16", "CPU with native bfloat16 (amx_bf16, avx512_bf16)"),
    (BF16_ONLY, 0, "mixed_bfloat16", "CPU with native bfloat16 (avx512_bf16)"),
    (AVX2_ONLY, 0, "float32", "CPU without native bfloat16 (no AMX or AVX512_BF16): float32"),
    (AVX2_ONLY, 1, "mixed_float16", "GPU: float16 compute with loss scaling"),
])
def test_mixed_precision_resolves_per_device(text, gpus, policy, reason):
    plan = plan_device(PrecisionSpec(mixed_precision=True), "channels_first", gpus=gpus, flags=cpu_flags(text))
    assert (plan.policy, plan.device) == (policy, "GPU" if gpus else "CPU")
    assert plan.notes[0] == f"precision {policy}: {reason}"
    # channels_first (the reference presets) runs as channels_last on a CPU, as written on a GPU.
    assert plan.data_format == ("channels_first" if gpus else "channels_last")


def test_flags_come_from_the_flags_line_and_forced_choices_win():
    assert {"avx2", "amx_tile"} <= cpu_flags(AMX) and "avx512f" not in cpu_flags(AVX2_ONLY)
    assert cpu_flags("processor\t: 0\n") == set()
    off = plan_device(PrecisionSpec(mixed_precision=False), "channels_last", gpus=0, flags=cpu_flags(AMX))
    assert off.policy == "float32" and off.notes == ("precision float32: model.mixed_precision is False",)
    forced = plan_device(PrecisionSpec(precision="mixed_float16", force_data_format=True), "channels_first", gpus=0,
                         flags=cpu_flags(AVX2_ONLY))
    assert (forced.policy, forced.data_format) == ("mixed_float16", "channels_first")
    assert "emulated and slow" in forced.notes[0] and "kept (model.force_data_format)" in forced.notes[1]
