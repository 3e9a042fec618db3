"""CLI models: a Keras model file or a ``package.module:factory``."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

from .._dispatch import framework_of

__all__ = ['load_model', 'input_size', 'load_labels']


def load_model(spec: str) -> Any:
    """Load the model named on the command line.

    Parameters
    ----------
    spec : str
        A Keras model file (``.keras``, ``.h5``) or ``package.module:factory``,
        a callable returning a PyTorch or Keras model (imported from the
        current directory too).

    Returns
    -------
    object
        The model (PyTorch models are put in eval mode).
    """
    if spec.endswith(('.keras', '.h5')):
        if not Path(spec).is_file():
            raise ValueError(f'model file {spec!r} does not exist')
        try:
            import keras
            return keras.saving.load_model(spec, compile=False)
        except ImportError as exc:
            raise ValueError("loading a Keras model file needs keras: pip install "
                             "'eli5-gradcam[keras,tensorflow]'") from exc
        except Exception as exc:   # keras raises many kinds for unreadable files
            raise ValueError(f'could not load the Keras model {spec!r}: {exc}') from exc
    module_name, _, factory_name = spec.partition(':')
    if not module_name or not factory_name:
        raise ValueError(f'MODEL must be a .keras/.h5 file or package.module:factory; '
                         f'got {spec!r}')
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:     # noqa: BLE001 - ImportError, SyntaxError, the module's own
        raise ValueError(f'could not import {module_name!r} for MODEL {spec!r}: '
                         f'{type(exc).__name__}: {exc}') from exc
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise ValueError(f'{module_name!r} has no callable {factory_name!r} (MODEL {spec!r})')
    try:
        model = factory()
    except Exception as exc:     # noqa: BLE001 - the factory is user code
        raise ValueError(f'MODEL {spec!r}: {factory_name}() failed: '
                         f'{type(exc).__name__}: {exc}') from exc
    if framework_of(model) is None:
        raise ValueError(f'MODEL {spec!r} returned {type(model).__name__}, which is not a '
                         'PyTorch or Keras model')
    if framework_of(model) == 'torch':
        model.eval()
    return model


def input_size(model: Any) -> Optional[Tuple[int, int]]:
    """(height, width) a Keras image model expects, when its input shape fixes it."""
    shape = getattr(model, 'input_shape', None)
    if isinstance(shape, tuple) and len(shape) == 4 and None not in shape[1:3]:
        return int(shape[1]), int(shape[2])
    return None


def load_labels(spec: Optional[str]) -> Optional[List[str]]:
    """Class names: ``'imagenet'`` for the packaged ones, or a file (one per line)."""
    if spec is None:
        return None
    if spec == 'imagenet':
        from ..datasets import imagenet_class_names
        return imagenet_class_names()
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f'labels file {spec!r} does not exist')
    lines = [line.strip() for line in path.read_text(encoding='utf-8').splitlines()]
    return [line for line in lines if line]
