"""Start a local Ray instance or join a cluster."""
from __future__ import annotations

import os
from typing import Optional

import ray

__all__ = ['connect']


def connect(address: Optional[str] = None, *, num_cpus: Optional[int] = None) -> bool:
    """Make sure this process is connected to Ray.

    Parameters
    ----------
    address : str, optional
        A cluster to join (``'auto'``, ``'10.0.0.1:6379'``, ``'ray://head:10001'``).
        None: the ``RAY_ADDRESS`` environment variable if set, else a new
        local Ray instance sized to this machine (every CPU and GPU), without
        the dashboard.
    num_cpus : int, optional
        CPUs of a new local instance (default: all of them).

    Returns
    -------
    bool
        True when this call connected (the caller then calls
        ``ray.shutdown()`` when done); False when Ray was already connected.
    """
    if ray.is_initialized():
        return False
    address = address or os.environ.get('RAY_ADDRESS') or None
    if address is None:
        ray.init(num_cpus=num_cpus, include_dashboard=False)
    else:
        if num_cpus is not None:
            raise ValueError('num_cpus sizes a new local Ray instance; it cannot be given with '
                             f'a cluster address ({address!r})')
        ray.init(address=address)
    return True
