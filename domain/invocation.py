"""One invocation's flags: what this call of `unet run` does, kept apart from the configuration.

`--steps 100` means "100 more steps in this call"; saved into params.yaml it would make every
later `unet run -p <model_dir>/params.yaml` train 100 more. So these values live here, are
read from the CLI (and, for the reference's YAML files, from `runconfig`), and are never
written back with the configuration.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from unet_defects.domain.errors import ConfigError
from unet_defects.domain.training import MODES, RunSpec
from unet_defects.domain.validation import int_at_least, is_bool, is_str, one_of, optional

COMPILE_KINDS = ("validate", "compile")


@attrs.frozen(kw_only=True)
class Invocation:
    SECTION: ClassVar[str] = "runconfig"

    mode: str = attrs.field(default="train", validator=one_of(MODES))
    steps: int | None = attrs.field(default=None, validator=optional(int_at_least(0)))
    checkpoint_path: str | None = attrs.field(default=None, validator=optional(is_str))
    device: str | None = attrs.field(default=None, validator=optional(is_str))
    # Benchmark modes: steps excluded from the figures, and whether to read the real dataset.
    warmup_steps: int = attrs.field(default=5, validator=int_at_least(0))
    with_input_pipeline: bool = attrs.field(default=False, validator=is_bool)
    validate_only: bool = attrs.field(default=False, validator=is_bool)
    compile_only: bool = attrs.field(default=False, validator=is_bool)

    def __attrs_post_init__(self) -> None:
        if self.validate_only and self.compile_only:
            raise ConfigError("runconfig.validate_only: cannot be combined with --compile_only; choose one")
        if self.compile_kind is not None and self.mode != "train":
            flag = "validate_only" if self.validate_only else "compile_only"
            raise ConfigError(f"runconfig.{flag}: only allowed with mode train, got mode {self.mode}")

    @property
    def compile_kind(self) -> str | None:
        """"validate" or "compile" when this call only checks or compiles the training step."""
        if self.validate_only:
            return "validate"
        return "compile" if self.compile_only else None

    def target_step(self, current_step: int, max_steps: int) -> int:
        """The step this call trains to, as the reference: `steps` more, or up to `max_steps`."""
        if self.steps is not None:
            return current_step + self.steps
        return max(current_step, max_steps)

    def check_against(self, run: RunSpec) -> None:
        """Rules that span the invocation and the configuration."""
        if run.executor_name() == "cerebras" and self.mode != "train":
            raise ConfigError(f"runconfig.mode: only train runs on a Cerebras system (as in the reference), got "
                              f"{self.mode}; evaluate on this machine without --cs_ip")
