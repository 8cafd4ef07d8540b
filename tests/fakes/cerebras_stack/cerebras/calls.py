"""Where the fake stack records what it was asked to do: a JSON file named by
FAKE_CEREBRAS_RECORD (for tests across processes), and `CALLS` in this process."""

import json
import os

CALLS: list = []


def record(kind: str, **details) -> None:
    CALLS.append({"call": kind, **details})
    path = os.environ.get("FAKE_CEREBRAS_RECORD")
    if path:
        with open(path, "w") as handle:
            json.dump(CALLS, handle, indent=1, default=str)
