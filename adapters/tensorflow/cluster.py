"""TF_CONFIG, the cluster description every worker of a multi-machine run gets, read once."""

from __future__ import annotations

import json
import os

import attrs

from unet_defects.domain.errors import ConfigError

EXAMPLE = ('{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}')


@attrs.frozen
class ClusterPlace:
    workers: int  # chief and workers, each reading its share of the data
    index: int  # this task's position among them


def read_tf_config(key: str) -> ClusterPlace:
    """This task's place in the cluster; a missing or malformed TF_CONFIG names `key`, the
    setting that asked for several workers."""
    try:
        config = json.loads(os.environ["TF_CONFIG"])
        cluster, task = config["cluster"], config["task"]
        chiefs = len(cluster.get("chief", []))
        workers = len(cluster.get("worker", [])) + chiefs
        index = int(task["index"]) + (chiefs if task["type"] == "worker" else 0)
    except (KeyError, ValueError, TypeError, AttributeError):
        raise ConfigError(f"{key}: TF_CONFIG must name the cluster and this task (e.g. {EXAMPLE})") from None
    return ClusterPlace(workers=workers, index=index)
