"""The two settings most likely to help a model that is not learning yet: the plan's, which
know the dataset (`unet plan`), else the first that a hand-written config lacks; and what to
try for one defect class of several that has collapsed to background."""

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


# The defect share a class's defect-centred draws are raised to when it has collapsed.
CLASS_SAMPLING = 0.5


def class_collapse_advice(*, sampling_by: str = "image", sampling: float = 0.0, image_fit: str = "resize",
                          downscale: int = 1, time_budget: float | None = None) -> tuple[str, ...]:
    """What to try for one defect class that has collapsed to background, given the current
    values (their defaults: the config's): draw its defects more often, keep thin defects
    visible, train longer. Only a change from the current value is suggested."""
    drawn = "centred" if image_fit == "crop" else "drawn"  # only crops are centred on a defect
    raise_sampling = sampling < CLASS_SAMPLING
    sampling_text = f"train_input.defect_sampling: {CLASS_SAMPLING:g}"
    candidates = [
        (sampling_by != "class", "train_input.defect_sampling_by: class"
         + (f" with {sampling_text}" if raise_sampling else "") + f" (its defects {drawn} more often)"),
        (sampling_by == "class" and raise_sampling, f"{sampling_text} (every type's defects {drawn} more often, "
                                                    "its share too)"),
        (downscale > 1, "a smaller model.input_downscale (thin defects stay visible)"),
        (time_budget is not None, "a longer runconfig.time_budget"),
        (time_budget is None, "more runconfig.max_steps"),
    ]
    return tuple(text for applies, text in candidates if applies)


def class_advice_for(experiment: ExperimentSpec) -> tuple[str, ...]:
    """class_collapse_advice of the experiment's training data, model and run."""
    data = experiment.data
    return class_collapse_advice(sampling_by=data.defect_sampling_by, sampling=data.defect_sampling,
                                 image_fit=data.image_fit, downscale=experiment.model.input_downscale,
                                 time_budget=experiment.run.time_budget)
