"""The Ray Data actor: builds the model once, explains one batch per call.

:class:`ExplainWorker` is the callable class handed to
``Dataset.map_batches``; Ray Data creates one per actor of the pool (and again
when Ray restarts a dead actor).  A batch is explained the way
:func:`eli5_gradcam.explain_predictions` does it, one forward (and backward)
pass for the documents of one shape.  A batch the model rejects is explained
document by document, so that one bad document gives one error row and the
others their explanations.
"""
from __future__ import annotations

import os
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np
import pyarrow as pa

from .._dispatch import framework_of
from ..batch import explain_predictions
from .documents import Decoding, decode_document
from .rows import error_row, explanation_rows, names_index, rows_table

__all__ = ['WorkPlan', 'ExplainWorker', 'RECORDED_ERRORS']

#: What a document's failure raises (bad input, a model that fails on it, both
#: named by the adapters): recorded with ``on_error='record'``.  Anything else is
#: a fault of this package or of Ray and stops the job.
RECORDED_ERRORS = (ValueError, TypeError)


@dataclass(frozen=True)
class WorkPlan:
    """Everything a worker needs besides the model factory (sent once per actor).

    Attributes
    ----------
    column, id_column : str
        The document and id columns of the input dataset.
    options : dict
        Explanation keywords (validated by the driver), see
        :class:`~eli5_gradcam.nn.options.ExplainOptions`.
    on_error : {'record', 'raise'}
    decoding : Decoding
        How image bytes and paths become inputs (``channels_first`` is set
        per framework by the worker).
    threads : int
        Intra-op threads of the framework in each worker.
    use_gpu : bool
        Move a PyTorch model to the actor's GPU.
    """

    column: str
    id_column: str
    options: Dict[str, Any] = field(default_factory=dict)
    on_error: str = 'record'
    decoding: Decoding = Decoding()
    threads: int = 1
    use_gpu: bool = False


def _pin_threads(threads: int) -> None:
    """Framework thread pools of this process sized to the actor's CPUs."""
    for name in ('OMP_NUM_THREADS', 'TF_NUM_INTRAOP_THREADS', 'TF_NUM_INTEROP_THREADS'):
        os.environ[name] = str(threads)
    torch = sys.modules.get('torch')
    if torch is not None:
        torch.set_num_threads(threads)


def _build_model(model_factory: Callable[[], Any], plan: WorkPlan) -> Tuple[Any, str]:
    _pin_threads(plan.threads)
    model = model_factory()
    framework = framework_of(model)
    if framework is None:
        raise TypeError('model_factory must return a PyTorch nn.Module, a Keras 3 Model or a '
                        f'tf_keras Model; it returned {type(model).__name__}')
    _pin_threads(plan.threads)            # torch may have been imported by the factory
    if plan.use_gpu and framework == 'torch':
        model = model.to('cuda')          # Ray makes the actor's GPU the only one visible
    return model, framework


class ExplainWorker:
    """One actor of the pool: the model, built once, and the batch call.

    Parameters
    ----------
    model_factory : callable
        Returns the model; called once per actor (and per restart).
    plan : WorkPlan
    """

    def __init__(self, model_factory: Callable[[], Any], plan: WorkPlan) -> None:
        self.plan = plan
        self.model, framework = _build_model(model_factory, plan)
        channels_first = framework == 'torch'
        self.decoding = Decoding(plan.decoding.image_size, plan.decoding.preprocess,
                                 channels_first)
        self.names = names_index(plan.options.get('target_names'))
        self.method = str(plan.options.get('method', 'gradcam'))

    def __call__(self, batch: Mapping[str, Any]) -> pa.Table:
        """Explain one batch: ``{column: docs, id_column: ids}`` -> output rows."""
        plan = self.plan
        for name in (plan.column, plan.id_column):
            if name not in batch:
                raise ValueError(f'the dataset has no column {name!r}; its columns: '
                                 f'{sorted(batch)} (set column= / id_column=)')
        ids = batch[plan.id_column]
        cells = batch[plan.column]
        results: List[Optional[List[Dict[str, Any]]]] = [None] * len(ids)
        groups: Dict[Any, List[Tuple[int, np.ndarray]]] = defaultdict(list)
        for item, cell in enumerate(cells):
            try:
                doc = decode_document(cell, self.decoding)
            except RECORDED_ERRORS as exc:
                results[item] = [self._failed(ids[item], exc)]
                continue
            groups[(doc.shape, doc.dtype.str)].append((item, doc))
        for members in groups.values():
            for item, rows in self._explain_group(ids, members):
                results[item] = rows
        rows = [row for doc_rows in results for row in doc_rows or []]
        return rows_table(rows, plan.id_column, ids)

    def _explain_group(self, ids: Any, members: List[Tuple[int, np.ndarray]]
                       ) -> List[Tuple[int, List[Dict[str, Any]]]]:
        """Documents of one shape: one pass; if the model rejects it, one pass each."""
        try:
            return self._explain(ids, members)
        except RECORDED_ERRORS as exc:
            if self.plan.on_error == 'raise':
                raise
            if len(members) == 1:
                item = members[0][0]
                return [(item, [self._failed(ids[item], exc)])]
        return [pair for member in members
                for pair in self._explain_group(ids, [member])]

    def _explain(self, ids: Any, members: List[Tuple[int, np.ndarray]]
                 ) -> List[Tuple[int, List[Dict[str, Any]]]]:
        docs = np.stack([doc for _, doc in members])
        explanations = explain_predictions(self.model, docs, batch_size=len(members),
                                           progress=False, **self.plan.options)
        return [(item, explanation_rows(ids[item], explanation, method=self.method,
                                        names=self.names))
                for (item, _), explanation in zip(members, explanations)]

    def _failed(self, doc_id: Any, exc: BaseException) -> Dict[str, Any]:
        if self.plan.on_error == 'raise':
            raise exc
        return error_row(doc_id, f'{type(exc).__name__}: {exc}')
