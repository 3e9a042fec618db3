"""Models and documents of the Ray runner's tests (seeded, tiny, built in each worker)."""
import io
import time

import numpy as np
import ray
import torch
from PIL import Image

#: Name of the actor that collects the workers' actor handles (kill test).
REGISTRY = 'eli5-gradcam-test-registry'


def torch_cnn():
    """Conv -> ReLU -> Conv -> ReLU -> GAP -> Linear(3), seeded."""
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(4, 5, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(5, 3))


class Picky(torch.nn.Module):
    """Takes exactly 3 x 16 x 16 (Flatten -> Linear) and refuses all-black images."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3, padding=1),
                                            torch.nn.ReLU())
        self.head = torch.nn.Linear(2 * 16 * 16, 3)

    def forward(self, x):
        if bool((x.abs().flatten(1).sum(1) == 0).any()):
            raise RuntimeError('blank image: this model refuses all-black input')
        return self.head(self.features(x).flatten(1))


def picky_cnn():
    return Picky()


class Slow(torch.nn.Module):
    """``torch_cnn`` that sleeps in forward, so a run lasts long enough to kill a worker."""

    def __init__(self, seconds):
        super().__init__()
        self.inner = torch_cnn()
        self.seconds = seconds

    def forward(self, x):
        time.sleep(self.seconds)
        return self.inner(x)


@ray.remote(num_cpus=0)
class Registry:
    """Collects the handle of every worker actor each time one is built."""

    def __init__(self):
        self.handles = []

    def add(self, handle):
        self.handles.append(handle)

    def all(self):
        return list(self.handles)


def slow_registered_cnn():
    """``Slow`` whose worker registers its own actor handle with :data:`REGISTRY`."""
    registry = ray.get_actor(REGISTRY)
    ray.get(registry.add.remote(ray.get_runtime_context().current_actor))
    return Slow(0.5)


def not_a_model():
    return 'model'


def keras_cnn():
    """Conv(4) -> Conv(5) -> GAP -> Dense(3, softmax), seeded numpy weights."""
    import keras
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((12, 12, 3)),
        layers.Conv2D(4, 3, activation='relu', name='conv1'),
        layers.Conv2D(5, 3, activation='relu', name='conv2'),
        layers.GlobalAveragePooling2D(name='pool'),
        layers.Dense(3, activation='softmax', name='head')])
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype('float32')
                       for w in model.get_weights()])
    return model


def png_bytes(pixels):
    """``(H, W, 3)`` uint8 -> PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format='PNG')
    return buffer.getvalue()
