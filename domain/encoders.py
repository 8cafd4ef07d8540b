"""Pretrained encoders: Keras Applications backbones in place of the UNet's own encoder, as
the decoder sees them (where their skip features are, how wide), with their size and cost.

The parameter counts are those of the backbones without their classifier; the forward FLOPs
per input pixel were counted over their convolutions at 224x224 (the FLOPs of a fully
convolutional network grow with the pixels). A test builds each backbone and checks both.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class Backbone:
    parameters: int
    forward_flops_per_pixel: float
    # (downsampling, channels) of each skip feature from the finest, and of the deepest feature.
    skips: tuple[tuple[int, int], ...]
    bottleneck: tuple[int, int]

    @property
    def stride(self) -> int:
        return self.bottleneck[0]

    def skip_channels(self, downsampling: int) -> int:
        """Channels of the skip feature at this downsampling; 0 where the backbone has none."""
        return dict(self.skips).get(downsampling, 0)


BACKBONES: dict[str, Backbone] = {
    "vgg16": Backbone(14_714_688, 611_712.0, ((1, 64), (2, 128), (4, 256), (8, 512), (16, 512)), (32, 512)),
    "resnet50": Backbone(23_587_712, 153_696.0, ((2, 64), (4, 256), (8, 512), (16, 1024)), (32, 2048)),
    "efficientnetb0": Backbone(4_049_571, 15_327.4375, ((2, 96), (4, 144), (8, 240), (16, 672)), (32, 1280)),
    "mobilenetv2": Backbone(2_257_984, 11_937.75, ((2, 96), (4, 144), (8, 192), (16, 576)), (32, 1280)),
}
ENCODERS = ("unet", *BACKBONES)
# A backbone's decoder has one stage per halving of the resolution.
BACKBONE_DECODER_STAGES = 5
EXAMPLE_DECODER = [256, 128, 64, 32, 16]
