"""Guided backpropagation in Keras: which layers are ReLUs, and their hooks.

A layer is guided when its output is a ReLU's:

* a ``ReLU`` layer with its defaults (no ``max_value``, ``negative_slope``
  or ``threshold``: ``ReLU(max_value=6)`` is not a plain ReLU);
* an ``Activation('relu')`` layer;
* any other layer built with ``activation='relu'`` (``Conv2D``, ``Dense``,
  ``SeparableConv2D``...), whose ``call`` ends with the activation;

in nested models too; recurrent layers are left out (their output is not
the activation of their own pre-activation).  While a guided pass is traced
or run, each such layer's output goes through the backend's *guided
identity* (:func:`guided_hooks`, by the temporary wrapping of
:mod:`.patching`): the identity in the forward pass, and in the backward
pass, while :attr:`GuidedSwitch.guided` is on, the positive part of the
gradient; the ReLU's own backward then applies its mask :math:`[z > 0]`.
Not covered: ``keras.ops.relu`` / ``tf.nn.relu`` called inside a custom
layer's or model's ``call``, and other activations.
"""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

from .layers import walk_layers
from .patching import OutputHook

__all__ = ['GuidedSwitch', 'is_guided_relu', 'relu_layers', 'guided_hooks', 'no_relu_error']

_RECURRENT = ('RNN', 'LSTM', 'GRU', 'ConvLSTM')


class GuidedSwitch:
    """Whether the guided identities pass only positive gradients back.

    The backends read it when the backward pass is built (TensorFlow and JAX
    trace it; PyTorch runs it), so one forward pass serves a plain backward
    pass (the layers' gradients) and a guided one (the input's).
    """

    def __init__(self) -> None:
        self.guided = False


def _is_relu(activation: Any) -> bool:
    return getattr(activation, '__name__', None) == 'relu'


def _zero(value: Any) -> bool:
    try:
        return value is None or float(value) == 0.0
    except (TypeError, ValueError):
        return False


def is_guided_relu(layer: Any) -> bool:
    """Whether ``layer``'s output is a plain ReLU's (see the module docstring)."""
    names = [cls.__name__ for cls in type(layer).__mro__]
    if any(part in name for name in names[:2] for part in _RECURRENT):
        return False
    if names[0] == 'ReLU':
        return (getattr(layer, 'max_value', None) is None
                and _zero(getattr(layer, 'negative_slope', 0.0))
                and _zero(getattr(layer, 'threshold', 0.0)))
    return _is_relu(getattr(layer, 'activation', None))


def relu_layers(model: Any) -> Tuple[Any, ...]:
    """The model's layers whose gradient a guided pass overrides, each once."""
    found: List[Any] = []
    for _, layer in walk_layers(model):
        if is_guided_relu(layer) and not any(layer is seen for seen in found):
            found.append(layer)
    return tuple(found)


def guided_hooks(layers: Tuple[Any, ...],
                 identity: Callable[[Any], Any]) -> List[Tuple[Any, OutputHook]]:
    """One hook per ReLU layer passing its output through ``identity``."""
    def hook(layer: Any, args: tuple, outputs: Any) -> Any:
        return identity(outputs)
    return [(layer, hook) for layer in layers]


def no_relu_error(method: str) -> ValueError:
    """The error for a model with no ReLU layer to guide."""
    return ValueError(
        f'method={method!r}: the model has no ReLU layer whose gradient could be guided '
        "(covered: ReLU layers, Activation('relu') and layers with activation='relu'); "
        "guided backpropagation needs one; use method='gradcam' or another layer method")
