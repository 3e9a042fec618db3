"""Which of a model's outputs holds the scores: one rule for every framework.

``output=None`` picks the model's only output, or the one named ``logits``
(a Hugging Face ``ModelOutput``, a dict with a ``'logits'`` key, an object
with a ``.logits`` attribute).  A model with several other outputs is an
error that lists them: an explanation never picks one silently.  An int
picks by position, a str by key, attribute or (Keras) output name.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, List, Optional, Sequence

__all__ = ['select_output']


def _by_index(items: Sequence[Any], output: int, described: str) -> Any:
    if not -len(items) <= output < len(items):
        raise ValueError(f'output={output} is out of range: the model returns '
                         f'{len(items)} outputs{described}')
    return items[output]


def _from_mapping(outputs: Mapping, output: Any) -> Any:
    keys = list(outputs)
    if output is None:
        if 'logits' in outputs:
            return outputs['logits']
        if len(keys) == 1:
            return outputs[keys[0]]
        raise ValueError(f'the model returns {len(keys)} outputs {keys}; pass output= '
                         'a key or an index to choose the scores to explain')
    if isinstance(output, str):
        if output not in outputs:
            raise ValueError(f'output={output!r} is not part of the model output; its keys '
                             f'are {keys}')
        return outputs[output]
    return outputs[_by_index(keys, int(output), f' {keys}')]


def _from_sequence(outputs: Sequence[Any], output: Any,
                   output_names: Optional[List[str]]) -> Any:
    names = f' (names {output_names})' if output_names else ''
    if output is None:
        if len(outputs) == 1:
            return outputs[0]
        raise ValueError(f'the model returns {len(outputs)} outputs{names}; pass output= '
                         'an index (or a name) to choose the scores to explain')
    if isinstance(output, str):
        if not output_names or output not in output_names:
            raise ValueError(f'output={output!r} is not a name of the model\'s outputs '
                             f'({output_names or "it has no names: pass an index"})')
        output = output_names.index(output)
    return _by_index(outputs, int(output), names)


def _single(outputs: Any, output: Any, output_names: Optional[List[str]]) -> Any:
    if output in (None, 0) or (isinstance(output, str) and output_names == [output]):
        return outputs
    raise ValueError(f'output={output!r} selects part of a model output, but the model '
                     'returns a single tensor; leave output=None')


def select_output(outputs: Any, output: Any, *, is_tensor: Callable[[Any], bool],
                  output_names: Optional[List[str]] = None) -> Any:
    """The explained tensor among a model's outputs.

    Parameters
    ----------
    outputs : tensor, tuple, list, dict, ``ModelOutput`` or object with attributes
        What the model returned.
    output : int, str or None
        See the module docstring.
    is_tensor : callable
        Whether a value is one tensor of the framework.
    output_names : list of str, optional
        The model's output names (Keras), to look ``output`` up by name.

    Returns
    -------
    The selected tensor.
    """
    if is_tensor(outputs):
        return _single(outputs, output, output_names)
    if isinstance(outputs, Mapping):
        chosen = _from_mapping(outputs, output)
    elif isinstance(outputs, (list, tuple)):
        chosen = _from_sequence(outputs, output, output_names)
    elif output is None and hasattr(outputs, 'logits'):
        chosen = outputs.logits
    elif isinstance(output, str) and hasattr(outputs, output):
        chosen = getattr(outputs, output)
    else:
        raise TypeError(f'the model returned a {type(outputs).__name__}, not a tensor, '
                        'tuple, list, dict or an object with .logits; pass output= (an '
                        'attribute name) or wrap the model')
    if not is_tensor(chosen):
        raise ValueError(f'output: the selected model output is a {type(chosen).__name__}, '
                         'not a tensor; pass output= to pick the scores')
    return chosen
