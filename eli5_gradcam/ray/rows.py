"""Explanations -> output rows: one row per document and target, a fixed Arrow schema.

The schema is plain Arrow (no Ray extension types), so the Parquet files the
runner writes read back the same with Ray, pyarrow, pandas, polars or Spark.
A heatmap is stored flat (row-major) with its shape beside it:
``np.asarray(row['heatmap']).reshape(row['heatmap_shape'])``.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import pyarrow as pa
from eli5.base import Explanation

__all__ = ['RESULT_COLUMNS', 'HEATMAP_DTYPE', 'output_schema', 'explanation_rows', 'error_row',
           'rows_table', 'names_index']

#: dtype of the stored heatmaps (values in [0, 1], or [-1, 1] with ``relu=False``).
HEATMAP_DTYPE = np.float32

#: The columns after the id column, with their Arrow types.
RESULT_COLUMNS: Dict[str, pa.DataType] = {
    'target': pa.int64(),               # output index explained
    'target_name': pa.string(),         # its name from target_names, else null
    'score': pa.float64(),              # the differentiated score (logit where visible)
    'proba': pa.float64(),              # class probability where the model shows it
    'heatmap': pa.list_(pa.float32()),  # the layer-resolution map, flat, row-major
    'heatmap_shape': pa.list_(pa.int32()),
    'layer': pa.string(),               # the explained layer, as the model names it
    'method': pa.string(),              # 'gradcam', 'gradcam++', ...
    'error': pa.string(),               # null, or why this document has no explanation
}


def output_schema(id_column: str, id_type: pa.DataType) -> pa.Schema:
    """The output's Arrow schema: the id column, then :data:`RESULT_COLUMNS`."""
    return pa.schema([pa.field(id_column, id_type)] +
                     [pa.field(name, kind) for name, kind in RESULT_COLUMNS.items()])


def names_index(target_names: Any) -> Dict[str, int]:
    """``{name: output index}`` of ``target_names`` (a list or ``{index: name}``)."""
    if target_names is None:
        return {}
    pairs = (target_names.items() if isinstance(target_names, Mapping)
             else enumerate(target_names))
    index: Dict[str, int] = {}
    for position, name in pairs:
        index.setdefault(str(name), int(position))
    return index


def _target_index(label: Any, names: Mapping[str, int]) -> int:
    """The output index of a target label (an index, or a name from target_names)."""
    if isinstance(label, (int, np.integer)):
        return int(label)
    return names[str(label)]


def explanation_rows(doc_id: Any, explanation: Explanation, *, method: str,
                     names: Mapping[str, int]) -> List[Dict[str, Any]]:
    """One row per target of one document's explanation."""
    rows = []
    for target in explanation.targets or []:
        heatmap = np.asarray(target.heatmap, dtype=HEATMAP_DTYPE)
        label = target.target
        rows.append({
            'id': doc_id, 'target': _target_index(label, names),
            'target_name': None if isinstance(label, (int, np.integer)) else str(label),
            'score': None if target.score is None else float(target.score),
            'proba': None if target.proba is None else float(target.proba),
            'heatmap': heatmap.ravel(), 'heatmap_shape': list(heatmap.shape),
            'layer': getattr(explanation, 'layer', None), 'method': method, 'error': None})
    return rows


def error_row(doc_id: Any, message: str) -> Dict[str, Any]:
    """The one row of a document that could not be explained."""
    row: Dict[str, Any] = dict.fromkeys(RESULT_COLUMNS)
    row.update(id=doc_id, error=message)
    return row


def _id_type(ids: Sequence[Any]) -> pa.DataType:
    return pa.array(np.asarray(ids) if isinstance(ids, np.ndarray) else list(ids)).type


def rows_table(rows: List[Dict[str, Any]], id_column: str, ids: Sequence[Any],
               id_type: Optional[pa.DataType] = None) -> pa.Table:
    """The rows as an Arrow table with :func:`output_schema`.

    Parameters
    ----------
    rows : list of dict
        From :func:`explanation_rows` and :func:`error_row` (id under ``'id'``).
    id_column : str
        Name of the id column in the output.
    ids : sequence
        The batch's ids, to type the id column (also when ``rows`` is empty).
    id_type : pyarrow.DataType, optional
        Overrides the type read from ``ids``.
    """
    schema = output_schema(id_column, id_type or _id_type(ids))
    columns = {id_column: [row['id'] for row in rows]}
    columns.update({name: [row[name] for row in rows] for name in RESULT_COLUMNS})
    arrays = [pa.array(columns[field.name], type=field.type) for field in schema]
    return pa.Table.from_arrays(arrays, schema=schema)
