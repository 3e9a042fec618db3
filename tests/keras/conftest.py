"""Keras 3 tests run once per backend, each in its own process (KERAS_BACKEND)."""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

BACKEND = keras.backend.backend()
if BACKEND == 'torch':
    import torch
    torch.set_num_threads(1)


@pytest.fixture(scope='session')
def backend() -> str:
    """The Keras backend of this test process."""
    return BACKEND


from keras_helpers import seeded_weights, small_cnn  # noqa: E402


@pytest.fixture
def cnn():
    return seeded_weights(small_cnn(), seed=1)


@pytest.fixture
def image_doc():
    return np.random.default_rng(2).random((1, 12, 12, 3)).astype('float32')
