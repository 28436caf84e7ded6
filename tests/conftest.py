"""Shared test set-up."""

import pytest
from threadpoolctl import threadpool_limits


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    """Batch-1 products are tiny: BLAS threads would only contend for the cores."""
    with threadpool_limits(limits=1):
        yield
