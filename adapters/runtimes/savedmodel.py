"""The SavedModel export run by TensorFlow: its `network` signature, the bare network."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from unet_defects.adapters.runtimes.catalog import IMAGE_OUTPUT, PIXEL_OUTPUT
from unet_defects.adapters.tensorflow.device import device_scope
from unet_defects.domain.errors import DataError

if TYPE_CHECKING:
    from unet_defects.application.values import ExportManifest


def open_engine(path: Path, manifest: ExportManifest, device: str | None, hint: str | None) -> SavedModelEngine:
    """`path` is the export's saved_model.pb: TensorFlow loads its folder."""
    return SavedModelEngine(path.parent, device)


class SavedModelEngine:
    name = "tensorflow"

    def __init__(self, directory: Path, device: str | None = None) -> None:
        import tensorflow as tf

        try:
            self._loaded = tf.saved_model.load(str(directory))
            self._network = self._loaded.signatures["network"]
        except (OSError, ValueError, KeyError, tf.errors.OpError) as error:
            raise DataError(f"{directory}: not a SavedModel export with a network signature "
                            f"({str(error).splitlines()[0][:160]})") from None
        self._device = device
        self.has_classifier = IMAGE_OUTPUT in self._network.structured_outputs

    def outputs(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        import tensorflow as tf

        with device_scope(self._device):
            found = self._network(inputs=tf.constant(batch, tf.float32))
        image = found[IMAGE_OUTPUT].numpy() if self.has_classifier else None
        return found[PIXEL_OUTPUT].numpy(), image

