"""The cluster of the chunked-fit tests: a LocalCluster of 2 worker processes (1 thread each) per
module, started by the module's first test that asks for it."""

from __future__ import annotations

import distributed
import pytest


@pytest.fixture(scope="module")
def client():
    """A client of a LocalCluster with 2 worker processes of 1 thread each, the default client.

    One per module: the cluster closes with the module, so that the later folders' Dask
    computations run in their own process again (not on a leftover default client).
    """
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        yield c

