"""The cluster of the chunked-fit tests: one LocalCluster of 2 worker processes (1 thread each) for
the whole folder, started by the first test that asks for it. Its client is not Dask's default (the
later folders' Dask work must stay in their own process); a test that uses it has it current."""

from __future__ import annotations

import distributed
import pytest


@pytest.fixture(scope="session")
def client():
    """A client of a LocalCluster with 2 worker processes of 1 thread each."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=40) as cluster, distributed.Client(cluster, set_as_default=False) as c:
        c.wait_for_workers(2)
        yield c


@pytest.fixture(autouse=True)
def current_client(request):
    """The cluster's client, current for the tests that use it (the fit without ``client=`` and computing
    a Dask H of futures find it), for those tests only."""
    if "client" not in request.fixturenames:
        yield
        return
    with request.getfixturevalue("client").as_current():
        yield
