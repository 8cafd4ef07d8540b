"""The TensorFlow role adapters on tiny generated data: train, resume, evaluate, predict, export."""

import numpy as np
import pytest

from tests.conftest import needs_native_bf16, tiny_params
from unet_defects.application.options import InferenceOptions
from unet_defects.container import build_container
from unet_defects.domain.errors import CheckpointError, TrainingDiverged
from unet_defects.domain.masks import DecisionRule
from unet_defects.domain.metrics import ConfusionMatrix

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tiny_dagm, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("model")
    container = build_container(tiny_params(tiny_dagm, model_dir))
    outcome = container.train().execute()
    return container, model_dir, outcome


def test_training_writes_checkpoints_on_their_steps_and_summaries(trained):
    container, model_dir, outcome = trained
    assert (outcome.start_step, outcome.final_step) == (0, 4)
    assert np.isfinite(outcome.last_loss)
    assert [ref.step for ref in container.checkpoints().list()] == [2, 4]
    assert list(model_dir.glob("events.out.tfevents.*"))


def test_a_second_call_resumes_and_steps_trains_more(trained, tiny_dagm):
    container, model_dir, _ = trained
    assert container.train().execute().steps_run == 0
    more = build_container(tiny_params(tiny_dagm, model_dir, steps=2, keep_checkpoint_max=5))
    outcome = more.train().execute()
    assert (outcome.start_step, outcome.final_step) == (4, 6)
    assert more.checkpoints().list()[-1].step == 6


def test_in_graph_counts_equal_the_domain_scoring_of_the_same_predictions(trained):
    container, _, _ = trained
    reader = container.dataset()
    model = container.builder().build(container.experiment().model)
    container.checkpoints().restore(model)
    rule = container.experiment().evaluation.rule
    others = (DecisionRule(threshold=0.05), DecisionRule(threshold=0.5, space="logit"))
    evaluated = list(container.evaluator().evaluate(model, reader.evaluation_stream(), (rule, *others)))
    expected: list[list[ConfusionMatrix]] = [[], [], []]
    for images, masks in reader.evaluation_stream():
        logits = model(images, training=False).numpy()
        for logit, mask in zip(logits, masks.numpy()):
            for found, each in zip(expected, (rule, *others)):
                found.append(ConfusionMatrix.from_masks(mask >= 0.5, each.on_logits(logit)))
    assert [list(found) for found in zip(*(image.counts for image in evaluated))] == expected
    assert len(evaluated) == reader.evaluation_size() == 5


def test_eval_use_case_writes_results_json_with_every_key(trained):
    import json

    container, model_dir, _ = trained
    result = container.evaluate().execute()
    saved = json.loads((model_dir / "eval" / "results.json").read_text())
    assert set(saved) == {"mIOU", "DSC", "MPCA", "Acc", "defect_IoU", "defect_Dice", "per_image_Dice",
                          "image_precision", "image_recall", "image_F1", "image_AUROC", "image_AUROC_score",
                          "global_step", "num_images", "checkpoint", "true_defect_fraction",
                          "predicted_defect_fraction", "collapsed", "decision", "tta", "split",
                          "defect_recall", "defect_precision", "defect_recall_small", "defect_recall_medium",
                          "defect_recall_large", "defect_sizes", "operating_point"}  # one class: no per_class, no kaggle_dice
    assert saved["checkpoint"].endswith(f"model.ckpt-{result.step}")
    assert saved["global_step"] == result.step and saved["num_images"] == 5
    assert (model_dir / "eval" / f"results-{result.step}.json").is_file()
    assert list((model_dir / "eval" / "samples").glob("*.png"))
    assert list((model_dir / "eval").glob("events.out.tfevents.*"))  # TensorBoard scalars


def test_the_best_checkpoint_is_copied_out_of_rotation_and_predict_uses_it(tiny_dagm, tmp_path):
    params = tiny_params(tiny_dagm, tmp_path / "m", max_steps=6, save_checkpoints_steps=2, keep_checkpoint_max=1,
                         keep_best="defect_Dice")
    container = build_container(params)
    results = container.train_and_evaluate().execute().evaluations
    kept = container.best_keeper().best()
    best = max(results, key=lambda r: r.scores.defect_Dice)
    assert kept.checkpoint.step == results[[r.scores.defect_Dice for r in results].index(best.scores.defect_Dice)].step
    assert kept.checkpoint.path == str(tmp_path / "m" / "best" / f"model.ckpt-{kept.checkpoint.step}")
    assert [ref.step for ref in container.checkpoints().list()] == [6]  # keep_checkpoint_max 1 rotated the rest
    assert len(list((tmp_path / "m" / "best").glob("model.ckpt-*"))) == 2  # index and one data shard
    report = container.export().execute(str(tmp_path / "export"))
    assert report.step == kept.checkpoint.step and report.source.startswith("the best checkpoint")


def test_predict_returns_probabilities_at_each_image_size(trained):
    container, _, _ = trained
    model = container.builder().build(container.experiment().model)
    container.checkpoints().restore(model)
    images = [np.zeros((20, 30, 1), np.float32), np.ones((64, 48, 1), np.float32)]
    probabilities, _ = container.predictor().predict(container.engines().from_model(model), images, (32, 32))
    assert [p.shape for p in probabilities] == [(20, 30, 1), (64, 48, 1)]  # a channel per defect class
    assert all(((p >= 0) & (p <= 1)).all() for p in probabilities)


def test_a_checkpoint_of_another_topology_is_refused_with_one_line(trained, tiny_dagm, tmp_path):
    _, model_dir, _ = trained
    params = tiny_params(tiny_dagm, model_dir)
    params["model"]["encoder_filters"] = [4, 16]
    other = build_container(params)
    with pytest.raises(CheckpointError, match="does not match the configured model"):
        other.evaluate().execute()


def test_same_seed_gives_the_same_initial_weights(tiny_dagm, tmp_path):
    params = tiny_params(tiny_dagm, tmp_path / "a")
    first = build_container(params).builder().build(build_container(params).experiment().model)
    second = build_container(params).builder().build(build_container(params).experiment().model)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("precision", ["float32", pytest.param("mixed_bfloat16", marks=needs_native_bf16)])
def test_a_non_finite_loss_stops_training_naming_the_step(tiny_dagm, tmp_path, precision):
    params = tiny_params(tiny_dagm, tmp_path / "nan", max_steps=6, save_checkpoints_steps=100)
    params["optimizer"]["learning_rate"] = 1.0e30
    params["model"]["precision"] = precision
    container = build_container(params)
    with pytest.raises(TrainingDiverged, match=r"step \d+: the loss is not finite"):
        container.train().execute()
    assert container.checkpoints().list() == []


def test_the_exported_savedmodel_reloads_and_equals_predict(trained, tmp_path):
    import tensorflow as tf

    from unet_defects.domain.data import normalize

    container, _, _ = trained
    report = container.export().execute(str(tmp_path / "export"))
    assert report.step == container.checkpoints().list()[-1].step
    serving = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]
    rng = np.random.default_rng(4)
    data = container.experiment().eval_data
    model = container.builder().build(container.experiment().model)
    container.checkpoints().restore(model)
    for height, width in ((32, 32), (45, 70)):
        image = rng.integers(0, 256, size=(height, width), dtype=np.uint8)
        outputs = serving(images=tf.constant(image[None, ..., None]))
        expected = container.predictor().predict(
            container.engines().from_model(model), [normalize(image[..., None], data.normalization())], (data.height, data.width)
        )[0][0][..., 0]
        probabilities = outputs["probabilities"].numpy()[0, ..., 0]
        assert probabilities.shape == (height, width)
        np.testing.assert_allclose(probabilities, expected, atol=1e-5)
        mask = outputs["mask"].numpy()[0, ..., 0]
        assert set(np.unique(mask)) <= {0, 255}
        clear = np.abs(expected - report.threshold) > 1e-4
        np.testing.assert_array_equal((mask > 0)[clear], (expected > report.threshold)[clear])


def test_native_prediction_of_files_equals_the_native_export_and_tiles_large_images(trained, tmp_path):
    import imageio.v3 as iio
    import tensorflow as tf

    from unet_defects.adapters.images import write_png

    container, _, _ = trained
    rng = np.random.default_rng(9)
    inputs = tmp_path / "in"
    inputs.mkdir()
    small = rng.integers(0, 256, size=(45, 30), dtype=np.uint8)
    large = rng.integers(0, 256, size=(40, 150), dtype=np.uint8)
    write_png(inputs / "small.png", small)
    write_png(inputs / "large.png", large)
    container.export().execute(str(tmp_path / "export"), InferenceOptions(geometry="native"))
    serving = tf.saved_model.load(str(tmp_path / "export")).signatures["serving_default"]

    def probabilities_written(folder, stem):
        return iio.imread(folder / f"{stem}_probability.png").astype(np.float64) / 65535

    predict = container.predict()
    whole = InferenceOptions(geometry="native", tile=(64, 64))
    predict.execute([str(inputs / "small.png")], str(tmp_path / "whole"), whole, save_probabilities=True)
    exported = serving(images=tf.constant(small[None, ..., None]))["probabilities"].numpy()[0, ..., 0]
    np.testing.assert_allclose(probabilities_written(tmp_path / "whole", "small"), exported, atol=2e-5)

    tiled = InferenceOptions(geometry="native")  # 32x32 tiles, the training size
    report = predict.execute([str(inputs)], str(tmp_path / "tiled"), tiled, save_probabilities=True)
    assert report.images_done == 2 and not report.failures
    untiled = serving(images=tf.constant(large[None, ..., None]))["probabilities"].numpy()[0, ..., 0]
    blended = probabilities_written(tmp_path / "tiled", "large")
    assert blended.shape == (40, 150)
    # Tiles see less context near their edges; blended, they stay close to the whole-image answer.
    # (Measured: the mean difference is about a tenth of the spread of the probabilities.)
    assert np.mean(np.abs(blended - untiled)) < 0.25 * np.std(untiled)


def test_image_summaries_and_the_report_read_back_from_tensorboard(tiny_dagm, tmp_path):
    import imageio.v3 as iio

    from unet_defects.adapters.tensorboard_events import image_tags, read_scalars

    params = tiny_params(tiny_dagm, tmp_path / "m")
    params["model"]["log_image_summaries"] = True
    container = build_container(params)
    container.train().execute()
    result = container.evaluate().execute()
    tags = image_tags(tmp_path / "m" / "eval")
    assert "samples/best/predicted_overlay" in tags and "samples/worst/true_mask" in tags
    training_tags = image_tags(tmp_path / "m")
    assert {f"train_samples/{i}/{kind}" for i in range(3) for kind in ("input", "true_overlay", "predicted_mask")} \
        <= set(training_tags)
    scalars = read_scalars(tmp_path / "m" / "eval")
    assert scalars["eval/defect_Dice"] == [(result.step, pytest.approx(result.scores.defect_Dice))]
    assert [step for step, _ in read_scalars(tmp_path / "m")["loss"]] == [2, 4]
    outcome = container.report().execute()
    assert outcome.panels[:2] == ("training loss", "evaluation scores")
    assert iio.imread(outcome.path).ndim == 3


def test_the_same_seed_and_data_train_to_the_same_weights(tiny_dagm, tmp_path):
    weights = []
    for name in ("a", "b"):
        params = tiny_params(tiny_dagm, tmp_path / name, max_steps=6, save_checkpoints_steps=6)
        params["optimizer"]["learning_rate"] = [
            {"scheduler": "Linear", "initial_learning_rate": 0.0, "end_learning_rate": 1e-3, "steps": 3},
            {"scheduler": "Constant", "learning_rate": 1e-3}]
        params["optimizer"]["grad_accum_steps"] = 2
        params["model"]["loss"] = "bce_dice"
        container = build_container(params)
        container.train().execute()
        model = container.builder().build(container.experiment().model)
        container.checkpoints().restore(model)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_whole_images_of_any_size_are_evaluated_on_their_own_pixels_only(tmp_path):
    from unet_defects.adapters.images import write_png
    from unet_defects.domain.masks import DecisionRule

    rng = np.random.default_rng(2)
    for split, sizes in (("train", [(40, 40), (12, 30)]), ("test", [(30, 41), (17, 23), (30, 41)])):
        (tmp_path / "data" / split / "images").mkdir(parents=True)
        (tmp_path / "data" / split / "masks").mkdir()
        for index, size in enumerate(sizes):
            write_png(tmp_path / "data" / split / "images" / f"{index}.png", rng.integers(0, 256, size, dtype=np.uint8))
            mask = np.zeros(size, np.uint8)
            mask[: size[0] // 2, : size[1] // 3] = 255
            write_png(tmp_path / "data" / split / "masks" / f"{index}.png", mask)
    params = tiny_params(tmp_path / "data", tmp_path / "m", max_steps=1, save_checkpoints_steps=1)
    params["train_input"].update({"dataset": "ImageFolderDataset", "image_shape": [16, 16, 1], "image_fit": "crop"})
    container = build_container(params)
    container.train().execute()  # the 12x30 training image is padded up to the crops
    model = container.builder().build(container.experiment().model)
    container.checkpoints().restore(model)
    evaluated = list(container.evaluator().evaluate(model, container.dataset().evaluation_stream(),
                                                    [DecisionRule()]))
    assert [image.counts[0].total for image in evaluated] == [30 * 41, 17 * 23, 30 * 41]
    assert [image.counts[0].tp + image.counts[0].fn for image in evaluated] == [15 * 13, 8 * 7, 15 * 13]
    assert [image.picture().image.shape for image in evaluated] == [(30, 41), (17, 23), (30, 41)]
    result = container.evaluate().execute()
    assert result.num_images == 3 and 0.0 <= result.scores.defect_Dice <= 1.0


def test_the_time_budget_stops_training_at_its_deadline_with_a_checkpoint(tiny_dagm, tmp_path):
    params = tiny_params(tiny_dagm, tmp_path / "model", max_steps=1_000_000, save_checkpoints_steps=1_000_000,
                         time_budget="3s")
    container = build_container(params)
    outcome = container.train().execute()
    assert outcome.stopped_by == "time_budget"
    assert 0 < outcome.final_step < 1_000_000 and outcome.seconds >= 3
    assert [ref.step for ref in container.checkpoints().list()] == [outcome.final_step]
