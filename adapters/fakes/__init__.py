"""In-memory fakes of every port, free of TensorFlow: for this project's tests and for users'.

    from unet_defects.adapters.fakes import FakeTrainer, FakeCheckpoints, FakeModelBuilder, ...

Which fake stands for which port: tests/unit/test_port_fakes.py (FAKES) holds the list, and
fails when a port of application/ has none.
"""

from unet_defects.adapters.fakes.archive import DriverKilled, FakeBatchRunner, FakePredictionShards
from unet_defects.adapters.fakes.components import FakeComponents
from unet_defects.adapters.fakes.deployment import (
    FakeBenchmarker,
    FakeCompiler,
    FakeEngineTimer,
    FakeExporter,
    FakePredictor,
)
from unet_defects.adapters.fakes.drift import FakeDriftReferenceStore, FakeTrainingImages
from unet_defects.adapters.fakes.engines import FakeCalibrationStore, FakeEngine, FakeEngines
from unet_defects.adapters.fakes.pictures import FakePictureWriter
from unet_defects.adapters.fakes.planning import FakeFingerprinter, FakeStepTimer, FakeSurvey, KeptPlanWriter
from unet_defects.adapters.fakes.report_page import FakePageWriter, FakeRunFiles
from unet_defects.adapters.fakes.review import FakeProposalWriter, FakeReviewWriter
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
from unet_defects.adapters.fakes.tracking import FakeRunTracker

__all__ = [
    "DriverKilled", "FakeBatchRunner", "FakeBenchmarker", "FakeBestKeeper", "FakeCalibrationStore", "FakeCheckpoints",
    "FakeCompiler", "FakeComponents", "FakeConfigStore", "FakeDatasetReader", "FakeDriftReferenceStore", "FakeEngine",
    "FakeEngineTimer", "FakeEngines", "FakeEvaluator", "FakeExporter", "FakeFingerprinter", "FakeImageSource",
    "FakeMachineProbe", "FakeModel", "FakeModelBuilder", "FakePageWriter", "FakePictureWriter",
    "FakePredictionShards", "FakePredictor", "FakeProposalWriter", "FakeRecordWriter", "FakeReviewWriter",
    "FakeRunFiles", "FakeRunHistory", "FakeRunTracker", "FakeSampleSource", "FakeStepTimer", "FakeSurvey",
    "FakeTrainer", "FakeTrainingImages", "InMemoryArtifactStore", "KeptPlanWriter", "RecordingObserver",
    "RecordingRenderer",
]
