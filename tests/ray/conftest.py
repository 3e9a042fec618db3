"""A real local Ray instance for the dataset runner's tests (one per test module).

The test models live in ``ray_models.py``, pickled by value so the Ray workers
need not import this folder.
"""
import pytest

ray = pytest.importorskip('ray')
pytest.importorskip('ray.data')
torch = pytest.importorskip('torch')
torch.set_num_threads(1)

import ray_models  # noqa: E402
from ray import cloudpickle  # noqa: E402

cloudpickle.register_pickle_by_value(ray_models)


@pytest.fixture(scope='module')
def ray_local():
    """``ray.init(num_cpus=2)`` without the dashboard; shut down after the module."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        yield ray
    finally:
        ray.shutdown()
