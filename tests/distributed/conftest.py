"""The cluster of the chunked-fit tests: one LocalCluster of 2 worker processes (1 thread each) for
the whole folder, started by the first test that asks for it."""

from __future__ import annotations

import distributed
import pytest


@pytest.fixture(scope="session")
def client():
    """A client of a LocalCluster with 2 worker processes of 1 thread each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        c.wait_for_workers(2)
        yield c

