"""A multi-node Ray cluster on this machine, on the loopback interface only: for tests,
benchmarks and trying the Ray backend without a rack (``ray.cluster_utils.Cluster``).

    with local_cluster([{"node_a": 4}, {"node_b": 4}], cpus_per_node=2) as (cluster, workers):
        ...                    # this process is connected; workers[i].node_id; cluster.remove_node(w)
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

LOOPBACK = "127.0.0.1"


def _loopback_only() -> None:
    """Make Ray advertise 127.0.0.1 instead of the machine's address (this process and the node
    processes it starts)."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from ray._private import ray_constants  # noqa: PLC0415

    ray_constants.ENABLE_RAY_CLUSTER = False


@contextmanager
def local_cluster(workers: list[dict[str, float]], *, cpus_per_node: float = 2,
                  memory_mb: int = 8192) -> Iterator[tuple[Any, list[Any]]]:
    """A head (no CPUs: nothing runs there but the driver) and one worker node per entry of
    ``workers`` (its custom resources), this process connected as the driver."""
    _loopback_only()
    import ray  # noqa: PLC0415
    from ray.cluster_utils import Cluster  # noqa: PLC0415

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False, "node_ip_address": LOOPBACK})
    try:
        nodes = [cluster.add_node(num_cpus=cpus_per_node, resources=res, memory=memory_mb << 20,
                                  node_ip_address=LOOPBACK) for res in workers]
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        try:
            yield cluster, nodes
        finally:
            ray.shutdown()
    finally:
        cluster.shutdown()
