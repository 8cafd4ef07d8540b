"""YAML presets and the loader that turns YAML + defaults + overrides into frozen specs."""

from unet_defects.configs.loader import PRESETS_DIR, load_experiment, preset_path, to_mapping, write_resolved

__all__ = ["PRESETS_DIR", "load_experiment", "preset_path", "to_mapping", "write_resolved"]
