"""In-memory fakes of every port, free of TensorFlow: for this project's tests and for users'.

    from adapters.fakes import FakeTrainer, FakeCheckpoints, FakeModelBuilder, ...
"""

from adapters.fakes.deployment import FakeBenchmarker, FakeCompiler, FakeExporter, FakePredictor
from adapters.fakes.engines import FakeCalibrationStore, FakeEngine, FakeEngines
from adapters.fakes.roles import (
    FakeBestKeeper,
    FakeCheckpoints,
    FakeDatasetReader,
    FakeEvaluator,
    FakeModel,
    FakeModelBuilder,
    FakeTrainer,
    RecordingObserver,
)
from adapters.fakes.stores import (
    FakeConfigStore,
    FakeImageSource,
    FakeMachineProbe,
    FakeRecordWriter,
    FakeRunHistory,
    FakeSampleSource,
    InMemoryArtifactStore,
    RecordingRenderer,
)

__all__ = [
    "FakeBenchmarker", "FakeBestKeeper", "FakeCalibrationStore", "FakeEngine", "FakeEngines", "FakeCheckpoints", "FakeCompiler", "FakeConfigStore", "FakeDatasetReader", "FakeEvaluator",
    "FakeExporter", "FakeImageSource", "FakeMachineProbe", "FakeModel", "FakeModelBuilder", "FakePredictor", "FakeRecordWriter",
    "FakeRunHistory", "FakeSampleSource", "FakeTrainer", "InMemoryArtifactStore", "RecordingObserver",
    "RecordingRenderer",
]
