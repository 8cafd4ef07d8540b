"""In-memory fakes of every port, free of TensorFlow: for this project's tests and for users'.

    from unet_defects.adapters.fakes import FakeTrainer, FakeCheckpoints, FakeModelBuilder, ...
"""

from unet_defects.adapters.fakes.deployment import FakeBenchmarker, FakeCompiler, FakeExporter, FakePredictor
from unet_defects.adapters.fakes.engines import FakeCalibrationStore, FakeEngine, FakeEngines
from unet_defects.adapters.fakes.roles import (
    FakeBestKeeper,
    FakeCheckpoints,
    FakeDatasetReader,
    FakeEvaluator,
    FakeModel,
    FakeModelBuilder,
    FakeTrainer,
    RecordingObserver,
)
from unet_defects.adapters.fakes.stores import (
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
    "FakeBenchmarker", "FakeBestKeeper", "FakeCalibrationStore", "FakeEngine", "FakeEngines", "FakeCheckpoints",
    "FakeCompiler", "FakeConfigStore", "FakeDatasetReader", "FakeEvaluator",
    "FakeExporter", "FakeImageSource", "FakeMachineProbe", "FakeModel", "FakeModelBuilder", "FakePredictor", "FakeRecordWriter",
    "FakeRunHistory", "FakeSampleSource", "FakeTrainer", "InMemoryArtifactStore", "RecordingObserver",
    "RecordingRenderer",
]
