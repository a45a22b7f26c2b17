import os

# One BLAS/OpenMP thread for the whole suite (and the subprocesses it starts, which inherit
# these variables): on a small shared machine, competing BLAS threads make the tests many
# times slower. The variables must be set before NumPy is first imported; threadpoolctl
# below also pins the pools when something imported NumPy earlier.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402

os.environ.setdefault("MPLBACKEND", "Agg")

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # the variables above still pin the pools when NumPy loads after them
    threadpool_limits = None
if threadpool_limits is not None:
    _PINNED = threadpool_limits(limits=1)  # for the whole session


@pytest.fixture
def rng():
    return np.random.default_rng(0)
