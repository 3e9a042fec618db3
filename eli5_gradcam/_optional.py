"""Optional dependencies: import them or say which extra installs them."""
from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ['import_optional']


def import_optional(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise an ImportError naming the extra to install.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``'torch'``.
    extra : str
        The ``eli5-gradcam`` extra that provides it, e.g. ``'torch'``.

    Returns
    -------
    types.ModuleType
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module} is required for this feature but could not be imported ({exc}). "
            f"Install it with: pip install 'eli5-gradcam[{extra}]'") from exc
