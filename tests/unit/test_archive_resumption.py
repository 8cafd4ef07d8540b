"""The archive's resumption rule, with fakes: which images are done, shards named by what they
hold (a retried batch replaces its own), a killed driver's rerun writing each image once."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.unit.test_use_cases import UseCaseFakes
from unet_defects.adapters.fakes import DriverKilled, FakeBatchRunner, FakeImageSource, FakePredictionShards
from unet_defects.adapters.prediction_shards import ERRORS_FILE, SHARDS_FOLDER, FilePredictionShards
from unet_defects.application.archive import ArchivePredictUseCase, ArchiveWorker
from unet_defects.application.batching import ProbabilityMaps
from unet_defects.application.inspector import InspectionPipeline
from unet_defects.application.options import InferenceOptions
from unet_defects.application.prediction import FilePredictions
from unet_defects.application.prediction_ports import BatchOutcome, still_failed
from unet_defects.domain.data import DataSpec
from unet_defects.domain.errors import ConfigError, DataError
from unet_defects.domain.resumption import is_shard, pending, shard_name, stem_clash
from unet_defects.domain.training import RunSpec

DATA = DataSpec(dataset="DAGM2007Dataset", dataset_path="d", image_shape=(8, 8, 1), normalize_data_method="zero_one")


def test_a_shard_is_named_by_its_files_in_any_order():
    assert shard_name(["b.png", "a.png"]) == shard_name(["a.png", "b.png"])
    assert shard_name(["a.png"]) != shard_name(["a.png", "b.png"])
    assert is_shard(shard_name(["a.png"])) and not is_shard(".predictions-x.jsonl.tmp")


def test_pending_keeps_the_order_and_stem_clashes_are_found():
    assert pending(["c", "a", "b"], {"a"}) == ["c", "b"]
    assert stem_clash(["x/part.png", "y/other.png", "z/part.jpg"]) == ("x/part.png", "z/part.jpg")
    assert stem_clash(["x/a.png", "x/b.png"]) is None


def test_records_round_trip_and_a_failure_done_later_is_no_error():
    outcome = BatchOutcome(({"file": "b", "score": 0.5},), (("c", "c: cannot read image"),))
    assert BatchOutcome.from_records(json.loads(json.dumps(r)) for r in outcome.records()) == outcome
    failures = [*outcome.failures, ("d", "d: bad")]
    assert still_failed(failures, {"b", "c"}, ["d", "c", "b"]) == ["d: bad"]


def test_file_shards_are_whole_and_a_batch_written_twice_is_one_shard(tmp_path):
    shards, output = FilePredictionShards(), str(tmp_path)
    outcome = BatchOutcome(({"file": "a.png", "score": 0.2},), (("b.png", "b.png: cannot read image"),))
    first = shards.write(output, outcome)
    assert shards.write(output, outcome) == first  # the retried batch
    assert sorted(p.name for p in (tmp_path / SHARDS_FOLDER).iterdir()) == [first.rsplit("/", 1)[1]]
    assert shards.done(output) == {"a.png"}
    written = shards.merge(output, ["b.png", "a.png"])
    assert (tmp_path / ERRORS_FILE).read_text() == "b.png: cannot read image\n" and len(written) == 2
    shards.write(output, BatchOutcome(({"file": "b.png", "score": 0.9},)))  # fixed and done by a rerun
    assert shards.merge(output, ["b.png", "a.png"]) == [str(tmp_path / "predictions.jsonl")]
    assert not (tmp_path / ERRORS_FILE).exists()
    lines = [json.loads(line)["file"] for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    assert sorted(lines) == ["a.png", "b.png"]


def test_a_half_written_shard_is_no_batch_and_a_broken_one_is_named(tmp_path):
    shards, folder = FilePredictionShards(), tmp_path / SHARDS_FOLDER
    shards.write(str(tmp_path), BatchOutcome(({"file": "a.png"},)))
    folder.joinpath(".predictions-0123.jsonl.tmp").write_text('{"file": "b.png"}\n{"fi')  # the driver killed mid-write
    assert shards.done(str(tmp_path)) == {"a.png"} and not list(folder.glob(".*.tmp"))
    folder.joinpath("predictions-broken.jsonl").write_text('{"file": "c.png"}\n{"fi\n')
    with pytest.raises(DataError, match=r"predictions-broken.jsonl: line 2 is not JSON"):
        shards.done(str(tmp_path))


class ArchiveWorld:
    def __init__(self, images: dict) -> None:
        self.world = UseCaseFakes(RunSpec(model_dir="m", max_steps=1))
        self.world.train.execute()
        self.images = FakeImageSource(images)
        self.shards = FakePredictionShards()
        self.opened: list[InferenceOptions] = []

    def open_worker(self, options: InferenceOptions, expected: dict) -> ArchiveWorker:
        self.opened.append(options)
        session = self.world.opener(DATA).open(options)
        pipeline = InspectionPipeline(ProbabilityMaps(self.world.predictor, 2), self.world.components)
        return ArchiveWorker(FilePredictions(session, pipeline, self.images, self.world.artifacts, "out", options,
                                             max_pixels=30), expected)

    def archive(self, runner: FakeBatchRunner) -> ArchivePredictUseCase:
        return ArchivePredictUseCase(self.world.opener(DATA), self.images, self.world.artifacts, self.shards, runner)

    def execute(self, runner: FakeBatchRunner):
        return self.archive(runner).execute(["in/"], "out", self.open_worker)


def _images(count: int) -> dict:
    images: dict = {f"in/{index:02d}.png": np.full((5, 6), index * 20, np.uint8) for index in range(count)}
    images["in/broken.png"] = None
    images["in/huge.png"] = np.zeros((8, 8), np.uint8)  # 64 pixels, past the workers' 30
    return images


def test_the_lines_are_predicts_and_the_workers_open_the_checkpoint_the_driver_chose():
    world = ArchiveWorld(_images(5))
    report = world.execute(FakeBatchRunner(batch_size=2))
    assert (report.total, report.done, report.done_before) == (7, 5, 0)
    assert [name for name, _ in report.failures] == ["in/broken.png", "in/huge.png"]
    assert "more than --max_pixels 30" in world.shards.errors["out"][1]
    assert world.opened[0].checkpoint == world.world.opener(DATA).open().path  # pinned, not "the best kept"
    world.world.predict(world.images, DATA, batch_size=2).execute(["in/"], "one-process", max_pixels=30)
    assert world.shards.merged["out"] == world.world.artifacts.lines["one-process/predictions.jsonl"]


def test_a_retried_batch_is_written_once_and_a_killed_drivers_rerun_finishes_the_rest():
    world = ArchiveWorld(_images(9))
    with pytest.raises(DriverKilled):
        world.execute(FakeBatchRunner(batch_size=3, retried=[0], killed_after=2))
    assert world.shards.done("out") == {f"in/{index:02d}.png" for index in range(6)}
    runner = FakeBatchRunner(batch_size=3, retried=[1])
    report = world.execute(runner)
    assert report.done_before == 6 and report.done == 3
    assert {name for name, _ in runner.items_seen} >= {"in/06.png", "in/07.png", "in/08.png"}
    assert not {name for name, _ in runner.items_seen} & world.shards.done("out") - {"in/06.png", "in/07.png",
                                                                                      "in/08.png"}
    records = [record["file"] for shard in world.shards.shards["out"].values() for record in shard
               if "error" not in record]
    assert sorted(records) == sorted(set(records)) and len(records) == 9  # each image once
    again = world.execute(FakeBatchRunner())  # nothing left: the failures are tried again, the rest skipped
    assert again.done == 0 and again.done_before == 9 and len(again.failures) == 2


def test_inputs_that_would_overwrite_each_other_are_refused():
    world = ArchiveWorld({"in/a/part.png": np.zeros((4, 4), np.uint8), "in/b/part.png": np.zeros((4, 4), np.uint8)})
    with pytest.raises(DataError, match=r"in/a/part.png and in/b/part.png: both would write part_mask.png"):
        world.execute(FakeBatchRunner())
    with pytest.raises(DataError, match="no image files found"):
        world.archive(FakeBatchRunner()).execute(["nowhere/"], "out", world.open_worker)


def test_a_rerun_with_another_decision_is_refused_and_a_worker_must_open_the_drivers_model():
    world = ArchiveWorld(_images(4))
    world.execute(FakeBatchRunner())
    with pytest.raises(DataError, match=r"out: its images were predicted with another decisions .* then, .* now; "
                                         r"predict into a new --output"):
        world.archive(FakeBatchRunner()).execute(["in/"], "out", world.open_worker, InferenceOptions(threshold=0.9))
    assert world.archive(FakeBatchRunner()).execute(["in/"], "fresh", world.open_worker,
                                                    InferenceOptions(threshold=0.9)).done == 4
    expected = world.shards.recorded_run("out")
    with pytest.raises(ConfigError, match=r"a worker opened another model than the driver: decisions"):
        world.open_worker(InferenceOptions(threshold=0.9), expected)
