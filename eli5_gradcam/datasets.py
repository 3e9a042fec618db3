"""Data shipped with the package: the ImageNet class names."""
from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources
from typing import List, Tuple

__all__ = ['imagenet_classes', 'imagenet_class_names']


@lru_cache(maxsize=1)
def imagenet_classes() -> Tuple[Tuple[int, str, str], ...]:
    """The 1,000 ImageNet-1k classes as ``(index, wordnet_id, names)`` rows.

    Returns
    -------
    tuple of (int, str, str)
        In class-index order; ``names`` is the comma-separated synonym list.
    """
    text = resources.files('eli5_gradcam').joinpath('data/imagenet_classes.tsv').read_text(
        encoding='utf-8')
    rows = list(csv.reader(io.StringIO(text), delimiter='\t'))[1:]
    return tuple((int(index), wnid, names) for index, wnid, names in rows)


def imagenet_class_names(short: bool = True) -> List[str]:
    """Names of the 1,000 ImageNet classes, by class index.

    Parameters
    ----------
    short : bool
        Only the first synonym (``'Egyptian cat'``) rather than the whole list.

    Returns
    -------
    list of str
        Usable as ``target_names``.
    """
    return [names.split(',')[0].strip() if short else names
            for _, _, names in imagenet_classes()]
