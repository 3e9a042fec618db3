"""Which layer to explain: walk the model, resolve ``layer=``, choose one.

Framework-neutral (duck-typed on ``.layers``, ``.name``, ``.call``), so it
serves Keras 3 on every backend and tf_keras alike.  Nested models are
walked too; their layers are named by path, ``'resnet50/conv5_block3_out'``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple

from ..nn.errors import ModelNotSupported

__all__ = ['LayerRecord', 'is_model', 'sublayers', 'walk_layers', 'resolve_layer', 'choose_layer',
           'final_activation', 'head_kind']

#: How many candidate names an error message lists.
SHOWN = 12


@dataclass(frozen=True)
class LayerRecord:
    """One layer call seen during a probe run, in completion order.

    Attributes
    ----------
    path : str
        ``'outer/inner'`` name of the layer.
    layer : object
        The layer.
    shape : tuple of int or None
        Its output shape, batch included (None: not a single tensor).
    is_model : bool
        Whether the layer is itself a model (a container, never chosen).
    """

    path: str
    layer: Any
    shape: Optional[Tuple[Optional[int], ...]]
    is_model: bool


def _class_names(obj: object) -> List[str]:
    return [cls.__name__ for cls in type(obj).__mro__]


def is_model(layer: object) -> bool:
    """Whether ``layer`` is a Keras (or tf_keras) model: a container of layers."""
    return 'Model' in _class_names(layer) and isinstance(getattr(layer, 'layers', None), list)


def sublayers(layer: Any) -> List[Any]:
    """The layers directly inside ``layer``: a model's ``layers``, or the layers a
    custom Keras 3 layer holds as attributes (``_flatten_layers``)."""
    flatten = getattr(layer, '_flatten_layers', None)
    if callable(flatten) and not isinstance(getattr(layer, 'layers', None), list):
        return list(flatten(include_self=False, recursive=False))
    if isinstance(getattr(layer, 'layers', None), list):
        return list(layer.layers)
    return list(flatten(include_self=False, recursive=False)) if callable(flatten) else []


def walk_layers(model: Any) -> List[Tuple[str, Any]]:
    """Every layer inside ``model`` with its path, depth first: nested models and
    the layers inside custom layers (``'block1/conv'``), at any depth."""
    found: List[Tuple[str, Any]] = []
    seen = {id(model)}

    def visit(container: Any, prefix: str) -> None:
        for layer in sublayers(container):
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            path = f'{prefix}{layer.name}'
            found.append((path, layer))
            visit(layer, path + '/')
    visit(model, '')
    return found


def _candidates_text(records: Sequence[LayerRecord], spatial_ndim: Optional[int]) -> str:
    names = [r.path for r in records if _suitable(r, spatial_ndim)] or [r.path for r in records]
    shown = ', '.join(names[-SHOWN:][::-1])
    return shown + (', ...' if len(names) > SHOWN else '')


def _suitable(record: LayerRecord, spatial_ndim: Optional[int]) -> bool:
    shape = record.shape
    if record.is_model or shape is None or len(shape) < 3:
        return False
    if spatial_ndim is not None and len(shape) != spatial_ndim + 2:
        return False
    spatial = shape[1:-1]
    if any(s is None for s in spatial):
        return False
    size = 1
    for s in spatial:
        size *= int(s)  # type: ignore[arg-type]
    return size > 1


#: The automatic choice for an image skips maps whose height/width ratio is
#: further than this factor from the image's: they are not a grid over it
#: (an attention layer's ``(tokens, heads, features)`` output is rank 4 too).
ASPECT_TOLERANCE = 2.0


def _over_the_image(record: LayerRecord, image_hw: Optional[Tuple[int, int]]) -> bool:
    if image_hw is None or record.shape is None or len(record.shape) != 4:
        return True
    height, width = (int(s or 0) for s in record.shape[1:3])
    if not (height and width and image_hw[0] and image_hw[1]):
        return True
    ratio = (height / width) / (image_hw[0] / image_hw[1])
    return 1.0 / ASPECT_TOLERANCE <= ratio <= ASPECT_TOLERANCE


def choose_layer(records: Sequence[LayerRecord], spatial_ndim: Optional[int],
                 image_hw: Optional[Tuple[int, int]] = None) -> LayerRecord:
    """The last layer (in execution order) whose output has spatial extent.

    Parameters
    ----------
    records : sequence of LayerRecord
        From a probe run, in completion order.
    spatial_ndim : int or None
        Spatial axes the layer's output must have (batch and channels
        excluded): 2 for images, 1 for text and signals, None for any.
    image_hw : (int, int), optional
        ``(height, width)`` of an image input: maps whose aspect ratio is not
        the image's (within :data:`ASPECT_TOLERANCE`) are not chosen.

    Returns
    -------
    LayerRecord

    Raises
    ------
    ModelNotSupported
        No layer has such an output: Grad-CAM cannot explain the model.
    """
    for record in reversed(records):
        if _suitable(record, spatial_ndim) and _over_the_image(record, image_hw):
            return record
    seen = ', '.join(f'{r.path} {r.shape}' for r in records[-SHOWN:])
    wanted = f'{spatial_ndim}-D ' if spatial_ndim is not None else ''
    raise ModelNotSupported(
        f'layer=None: no layer of the model gives a {wanted}output with spatial or sequence '
        f'extent (batch, *positions, channels) to explain; last layers seen: {seen}. Pass '
        'layer= explicitly')


def resolve_layer(model: Any, layer: object, records: Sequence[LayerRecord],
                  spatial_ndim: Optional[int],
                  image_hw: Optional[Tuple[int, int]] = None) -> LayerRecord:
    """Find the layer the user named.

    Parameters
    ----------
    model : keras.Model or tf_keras.Model
    layer : None, str, int or Layer
        None: :func:`choose_layer`; a name (top-level, a unique nested name, or
        a path ``'base/name'``); an index into ``model.layers``; a layer object.
    records : sequence of LayerRecord
        From a probe run.
    spatial_ndim : int or None
        See :func:`choose_layer`.
    image_hw : (int, int), optional
        ``(height, width)`` of an image input, see :func:`choose_layer`.

    Returns
    -------
    LayerRecord
    """
    if layer is None:
        return choose_layer(records, spatial_ndim, image_hw)
    tree = walk_layers(model)
    target: Any
    if isinstance(layer, bool):
        raise TypeError('layer must be None, a layer name (str), an index into '
                        f'model.layers (int) or a Layer; got bool {layer!r}')
    if isinstance(layer, int):
        count = len(model.layers)
        if not -count <= layer < count:
            raise ValueError(f'layer: index {layer} is out of range; model.layers has '
                             f'{count} layers (valid: {-count}..{count - 1})')
        target = model.layers[layer]
    elif isinstance(layer, str):
        matches = [obj for path, obj in tree if path == layer]
        if not matches:
            matches = [obj for path, obj in tree if path.rsplit('/', 1)[-1] == layer]
        if not matches:
            raise ValueError(f'layer {layer!r} not found in model; layers with spatial '
                             f'output: {_candidates_text(records, spatial_ndim)}')
        if len({id(m) for m in matches}) > 1:
            paths = [path for path, obj in tree if path.rsplit('/', 1)[-1] == layer]
            raise ValueError(f'layer {layer!r} is ambiguous: it names {paths}; '
                             'pass the full path')
        target = matches[0]
    elif hasattr(layer, 'call') and hasattr(layer, 'name'):
        target = layer
        if not any(obj is layer for _, obj in tree):
            raise ValueError(f'layer: the Layer {getattr(layer, "name", layer)!r} is not '
                             f'part of the model; layers with spatial output: '
                             f'{_candidates_text(records, spatial_ndim)}')
    else:
        raise TypeError('layer must be None, a layer name (str), an index into model.layers '
                        f'(int) or a Layer; got {type(layer).__name__}')
    for record in reversed(records):
        if record.layer is target:
            if record.is_model:
                raise ValueError(f'layer {record.path!r} is a whole model; name one of its '
                                 f'layers instead, e.g. {_candidates_text(records, spatial_ndim)}')
            if record.shape is None:
                raise ValueError(f'layer {record.path!r} does not return a single tensor; '
                                 'pass another layer')
            return record
    raise ValueError(f'layer {getattr(target, "name", target)!r} is not called when the '
                     'model runs on doc; layers with spatial output: '
                     f'{_candidates_text(records, spatial_ndim)}')


def final_activation(layer: Any) -> Optional[str]:
    """``'softmax'``, ``'sigmoid'`` or None: what the model's last layer applies."""
    names = _class_names(layer)
    if 'Softmax' in names:
        return 'softmax'
    activation = getattr(layer, 'activation', None)
    name = getattr(activation, '__name__', None)
    if name in ('softmax', 'sigmoid') and ('Dense' in names or 'Activation' in names):
        return str(name)
    return None


def head_kind(layer: Any) -> Optional[str]:
    """How to get the logits of a final softmax or sigmoid ``layer``, or None.

    ``'dense'``: ``inputs @ kernel + bias`` (a Dense layer with a softmax or
    sigmoid activation); ``'input'``: the layer's input (a ``Softmax`` layer,
    ``Activation('softmax')`` or ``Activation('sigmoid')``).  As for PyTorch
    models, a final sigmoid is treated like a softmax: its logit is explained.
    """
    if final_activation(layer) is None:
        return None
    names = _class_names(layer)
    if names[0] == 'Dense' or 'Dense' in names[:2]:
        return 'dense'
    if 'Softmax' in names or 'Activation' in names:
        return 'input'
    return None
