"""One worker of the two-process MultiWorkerMirroredStrategy test: trains with the container's
own adapters and saves the weights it ends with (this worker's copy) to an .npz file.

    python tests/e2e/distributed_worker.py PARAMS.yaml OUT.npz   (TF_CONFIG set by the caller)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.e2e.multi_worker import save_weights
from unet_defects.adapters.terminal import TerminalObserver
from unet_defects.application.ports import TrainingJob
from unet_defects.container import build_container


def main() -> None:
    params, out = sys.argv[1], sys.argv[2]
    container = build_container(params)
    experiment = container.experiment()
    built = []  # the trainer builds the model under the strategy's scope; keep it to save its weights
    job = TrainingJob(build_model=lambda: built.append(container.builder().build(experiment.model)) or built[0],
                      open_stream=container.dataset().training_stream, target_step=experiment.run.max_steps,
                      observer=TerminalObserver())
    outcome = container.trainer().train(job)
    save_weights(out, built[0], outcome.final_step, container.strategy())


if __name__ == "__main__":
    main()
