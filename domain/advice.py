"""The two settings most likely to help a model that is not learning yet: the plan's, which
know the dataset (`unet plan`), else the first that a hand-written config lacks."""

from __future__ import annotations

from unet_defects.domain.experiment import ExperimentSpec

HOW_MANY = 2


def advice_for(experiment: ExperimentSpec) -> tuple[str, ...]:
    if experiment.plan.advice:
        return experiment.plan.advice[:HOW_MANY]
    data, model, loss = experiment.data, experiment.model, experiment.loss
    candidates = [
        (data.image_fit == "resize", "train_input.image_fit: crop (defects keep their size in pixels)"),
        (data.defect_sampling == 0, "train_input.defect_sampling: 0.33 (a third of the crops around a defect)"),
        (loss.loss == "bce", "model.loss: bce_dice (rare defect pixels weigh as much as the background)"),
        (model.normalization == "none", "model.normalization: batch"),
        (model.input_standardization == "none",
         "model.input_standardization: per_image (photographs of another exposure look alike)"),
        (True, "a longer runconfig.time_budget or more runconfig.max_steps"),
        (True, "unet plan on the dataset, which sizes crops, network and steps from what it measures"),
    ]
    return tuple(text for applies, text in candidates if applies)[:HOW_MANY]
