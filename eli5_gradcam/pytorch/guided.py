"""Guided backpropagation in PyTorch: every ReLU guided for one backward pass.

The ReLUs are found while the model runs, by a
:class:`torch.overrides.TorchFunctionMode` that sees every call of

* ``torch.nn.ReLU`` modules (their ``forward`` calls ``F.relu``),
* ``torch.nn.functional.relu`` / ``relu_`` and ``torch.relu`` / ``relu_``,
* the tensor methods ``Tensor.relu`` / ``relu_``,

in the model's Python code and in its submodules.  Each output gets a tensor
hook that, while :attr:`GuidedReLUs.guided` is on, keeps only the positive
part of the gradient flowing into it; the ReLU's own backward then applies
its mask :math:`[z > 0]`: together, guided backpropagation's rule.  Nothing
of the model is touched: no module is replaced, no module hook registered,
and the hooks live on the pass's own tensors, gone with them.

Not covered (their gradients stay plain): other activations (``ReLU6``,
``LeakyReLU``, ``GELU``...), a ReLU written as ``clamp(min=0)`` or
``x * (x > 0)``, ``torch.ops.aten.relu`` called directly, and ReLUs inside
TorchScript or compiled code that bypasses ``__torch_function__``.  A pass
that ran none of the covered ReLUs is a named error: there is nothing to
guide.  captum's ``GuidedBackprop`` overrides ``nn.ReLU`` modules only (its
docs warn that functional ReLUs are not); the two agree on models whose
ReLUs are modules.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

__all__ = ['COVERED', 'GuidedReLUs', 'check_relus_ran']

#: The functions whose outputs are guided (``nn.ReLU`` calls ``F.relu``).
COVERED: Tuple[Callable[..., Any], ...] = (
    F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_)


class GuidedReLUs(TorchFunctionMode):
    """Within the block, the outputs of the covered ReLUs carry a switchable hook.

    Attributes
    ----------
    guided : bool
        Read by the hooks when a backward pass reaches them: on, negative
        gradients stop at every ReLU; off, gradients are plain.
    count : int
        ReLU calls seen whose output is part of the autograd graph.
    """

    def __init__(self) -> None:
        super().__init__()
        self.guided = False
        self.count = 0

    def _hook(self, gradient: torch.Tensor) -> Optional[torch.Tensor]:
        return gradient.clamp(min=0) if self.guided else None

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: Tuple[Any, ...] = (),
                           kwargs: Optional[Dict[str, Any]] = None) -> Any:
        output = func(*args, **(kwargs or {}))
        if func in COVERED and isinstance(output, torch.Tensor) and output.requires_grad:
            self.count += 1
            output.register_hook(self._hook)
        return output


def check_relus_ran(relus: GuidedReLUs, method: str) -> None:
    """A named ValueError when the pass ran no ReLU that could be guided."""
    if relus.count == 0:
        raise ValueError(
            f'method={method!r}: the model ran no ReLU whose gradient could be guided '
            '(covered: nn.ReLU modules, F.relu, torch.relu and Tensor.relu, in place or '
            "not); guided backpropagation needs one; use method='gradcam' or another "
            'layer method')
