"""Explain a whole dataset on Ray Data, from a laptop to a cluster.

``pip install 'eli5-gradcam[ray]'``.  :func:`explain_dataset` turns a
``ray.data.Dataset`` of documents into a lazy dataset of explanations, one row
per document and target, explained by a pool of actors that each build the
model once; write it with ``write_parquet`` and read it back with
:func:`read_explanations`; :func:`render_sample` draws some rows as overlays
and an HTML page.  Importing ``eli5_gradcam`` does not import this package
(or Ray).
"""
from .._optional import import_optional

import_optional('ray.data', 'ray')

from .cluster import connect  # noqa: E402
from .dataset import ON_ERROR, explain_dataset  # noqa: E402
from .render import read_explanations, render_sample  # noqa: E402
from .rows import HEATMAP_DTYPE, RESULT_COLUMNS, output_schema  # noqa: E402

__all__ = ['explain_dataset', 'connect', 'read_explanations', 'render_sample', 'output_schema',
           'RESULT_COLUMNS', 'HEATMAP_DTYPE', 'ON_ERROR']
