"""Notes that a reader of the quality tables needs, measured rather than remembered."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

from eli5_gradcam.nn.gradcam import METHOD_TITLES
from quality_contenders import INPUT_MASKING
from quality_report import COLUMNS

__all__ = ['suite_notes']


def _lime_segments(suite: Any) -> List[int]:
    """Superpixels LIME's default segmentation finds on each picture of an image suite
    (``lime_image``'s default: quickshift, kernel 4, max_dist 200, ratio 0.2)."""
    from lime.wrappers.scikit_image import SegmentationAlgorithm
    segment = SegmentationAlgorithm('quickshift', kernel_size=4, max_dist=200, ratio=0.2,
                                    random_seed=0)
    return [int(len(np.unique(segment(suite.lime_picture(case))))) for case in suite.cases]


def _identical(table: Dict[str, Dict[str, Any]]) -> List[List[str]]:
    """Groups of contenders whose every metric (all but the time) is the same."""
    groups: Dict[tuple, List[str]] = {}
    for name, row in table.items():
        key = tuple(None if row[k] is None else round(row[k], 9)
                    for k, _, _ in COLUMNS if k != 'seconds')
        groups.setdefault(key, []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def _flat_and_failed(table: Dict[str, Dict[str, Any]],
                     entries: List[Dict[str, Any]]) -> List[str]:
    notes = []
    for name, row in table.items():
        rows = [e for e in entries if e['contender'] == name]
        flat = sum(bool(e.get('flat')) for e in rows)
        if flat:
            notes.append(f'* {name}: a flat map (all zero or constant) on {flat} of {len(rows)} '
                         'documents, scored as a map that knows nothing (ties are removed in '
                         'random order).')
        if row['errors']:
            notes.append(f'* {name}: failed on {len(row["errors"])} of {len(rows)} documents '
                         f'(left out of its row): {row["errors"][0]}')
    return notes


def suite_notes(suite: Any, table: Dict[str, Dict[str, Any]],
                entries: List[Dict[str, Any]]) -> List[str]:
    """Sentences about one suite's table: degenerate maps, coinciding methods, failures,
    tolerances."""
    notes = _flat_and_failed(table, entries)
    if suite.kind == 'image' and any(name.startswith('LIME') for name in table):
        counts = _lime_segments(suite)
        flat = sum(count <= 1 for count in counts)
        found = (f'{min(counts)} to {max(counts)} superpixels per picture (median '
                 f'{int(np.median(counts))})' if min(counts) != max(counts) else
                 f'{counts[0]} superpixel{"s" if counts[0] > 1 else ""} on every picture')
        notes.append(f'* LIME\'s default segmentation finds {found} here.'
                     + (f' Where it finds one ({flat} of {len(counts)} pictures) LIME\'s map is '
                        'flat and its numbers are those of a map that knows nothing (ties are '
                        'removed in random order).' if flat else ''))
    for names in _identical(table):
        why = (': the maps coincide where the gradient is the same at every position of the '
               'explained layer (a global-average-pooling and linear head above it)'
               if all(name.startswith('eli5-gradcam') for name in names) else '')
        notes.append(f'* {", ".join(names)}: identical numbers{why}.')
    if suite.kind == 'text':
        notes.append('* The explained layer is the classifier\'s kernel-3 convolution: a '
                     'position also sees its neighbours, so its peak can fall one token '
                     'beside the opinion word; the pointing game here has tolerance 0.')
        notes.append('* ' + ', '.join(METHOD_TITLES.get(m, m) for m in INPUT_MASKING)
                     + ' are not in this table: they multiply the model\'s input by masks or '
                     'differentiate it, and token ids can be neither scaled nor differentiated '
                     '(explain a model that takes embeddings to use them on text).')
    if suite.name == 'imagenet':
        notes.append('* Guided Grad-CAM and guided backpropagation are not in this table: '
                     'EfficientNet-Lite0 has ReLU6 activations only, which guided '
                     'backpropagation does not override (it is a named error).')
    if suite.kind != 'text' and getattr(suite, 'tolerance', 15) != 15 and any(
            c.box for c in suite.cases):
        notes.append(f'* Pointing game tolerance {suite.tolerance} pixels (the paper\'s 15 '
                     'would cover most of a picture this small).')
    return notes
