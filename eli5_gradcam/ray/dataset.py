"""``explain_dataset``: a lazy Ray Data pipeline of Grad-CAM explanations."""
from __future__ import annotations

import numbers
import pickle
from typing import Any, Callable, Optional, Tuple

import ray
import ray.cloudpickle
import ray.data

from ..nn.options import ExplainOptions, with_options_signature
from .documents import Decoding, Preprocess, check_image_size, check_preprocess
from .worker import ExplainWorker, WorkPlan

__all__ = ['explain_dataset', 'ON_ERROR']

#: Accepted values of ``on_error``.
ON_ERROR = ('record', 'raise')


def _check_count(name: str, value: Any, *, allow_none: bool = False,
                 minimum: float = 1, integral: bool = True) -> None:
    if value is None and allow_none:
        return
    kinds = numbers.Integral if integral else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kinds):
        wanted = 'an int' if integral else 'a number'
        raise TypeError(f'{name} must be {wanted}{" or None" if allow_none else ""}; got '
                        f'{type(value).__name__} {value!r}')
    if value < minimum:
        raise ValueError(f'{name} must be at least {minimum}; got {value!r}')


def _check_factory(model_factory: Any) -> None:
    if not callable(model_factory):
        raise TypeError('model_factory must be a callable that returns the model (called once '
                        f'per worker); got {type(model_factory).__name__}')
    try:
        ray.cloudpickle.dumps(model_factory)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise TypeError('model_factory must be picklable, to be sent to the workers: define '
                        'it at module level (or build the model inside it rather than '
                        f'capturing one); pickling failed with {type(exc).__name__}: '
                        f'{exc}') from exc


def _check_columns(dataset: Any, column: str, id_column: str) -> None:
    """Named errors for missing columns, where the schema is known without running."""
    for name, value in (('column', column), ('id_column', id_column)):
        if not isinstance(value, str):
            raise TypeError(f'{name} must be a str (a column name); got '
                            f'{type(value).__name__} {value!r}')
    schema = dataset.schema(fetch_if_missing=False)
    names = list(getattr(schema, 'names', None) or [])
    for name, value in (('column', column), ('id_column', id_column)):
        if names and value not in names:
            raise ValueError(f'{name}: the dataset has no column {value!r}; its columns: '
                             f'{names}')


def _compute(num_workers: Optional[int]) -> ray.data.ActorPoolStrategy:
    if num_workers is None:            # Ray Data's autoscaling pool, sized by the cluster
        return ray.data.ActorPoolStrategy(min_size=1, max_size=None)
    return ray.data.ActorPoolStrategy(size=int(num_workers))


def _options(options: Any) -> ExplainOptions:
    checked = ExplainOptions.from_keywords(options, function='explain_dataset')
    if not (checked.layer is None or isinstance(checked.layer, (str, int))):
        raise TypeError('layer must be a name or an index for explain_dataset (each worker '
                        f'builds its own model); got {type(checked.layer).__name__}')
    return checked


@with_options_signature()
def explain_dataset(dataset: ray.data.Dataset,
                    model_factory: Callable[[], Any],
                    *,
                    column: str = 'doc',
                    id_column: str = 'id',
                    batch_size: int = 32,
                    num_workers: Optional[int] = None,
                    num_gpus_per_worker: float = 0,
                    num_cpus_per_worker: float = 1,
                    on_error: str = 'record',
                    image_size: Optional[Tuple[int, int]] = None,
                    preprocess: Preprocess = 'imagenet',
                    **options: Any) -> ray.data.Dataset:
    """Explain every document of a Ray dataset: one row per document and target.

    Lazy: nothing runs until the result is consumed (``write_parquet``,
    ``iter_rows``, ``take``, ``materialize``...).  The work is a
    ``map_batches`` over a pool of Ray Data actors; each actor builds the model
    once with ``model_factory`` and explains a batch with one forward (and
    backward) pass, as :func:`eli5_gradcam.explain_predictions` does.  Ray
    schedules, streams and retries: a worker process that dies is replaced and
    its batches are run again, so every document is explained exactly once in
    the output.

    Parameters
    ----------
    dataset : ray.data.Dataset
        One row per document, with the document column and an id column.
    model_factory : callable
        ``model_factory()`` returns the model (PyTorch ``nn.Module``, Keras 3
        on any backend, ``tf_keras``).  It is pickled and called once in each
        worker, so define it at module level (or in ``__main__``).
    column : str
        The document column.  A cell is an array (the model input as it is,
        without the batch axis: NCHW images for PyTorch, NHWC for Keras,
        token ids...), the encoded bytes of an image, or an image file's path
        (decoded with Pillow, see ``image_size`` and ``preprocess``).
    id_column : str
        The column that identifies a document; copied to the output under
        the same name.
    batch_size : int
        Documents per Ray batch, explained in one forward (and backward) pass
        (default 32).  As in :func:`~eli5_gradcam.explain_predictions`, it is
        also the number of masked documents (``method='scorecam'``) or ablated
        copies (``'ablationcam'``) per extra forward pass: the option
        ``batch_size`` of :class:`~eli5_gradcam.nn.options.ExplainOptions`.
    num_workers : int, optional
        Actors in the pool; None lets Ray Data scale the pool from 1 to what
        the cluster's free CPUs (GPUs) allow.
    num_gpus_per_worker : float
        GPUs reserved per actor (0: CPU); a PyTorch model is moved to the
        actor's GPU, Keras places itself.
    num_cpus_per_worker : float
        CPUs reserved per actor; the framework's threads are set to this
        (at least 1).
    on_error : {'record', 'raise'}
        ``'record'``: a document that cannot be decoded or explained (an
        undecodable image, a wrong shape, the model failing on it) gives one
        row with ``error`` set and the other columns null; the others are
        explained.  ``'raise'``: the first such document stops the job.
    image_size : (int, int), optional
        ``(height, width)`` image bytes and paths are resized to.
    preprocess : {'imagenet', 'unit', 'none'} or callable
        Scaling of decoded images (ImageNet mean/std on [0, 1], [0, 1], raw
        [0, 255], laid out for the framework), or a callable from the RGB
        ``PIL.Image`` to the model input.
    **options
        The explanation options (``targets``, ``top_targets``,
        ``target_names``, ``layer`` as a name or index, ``method``, ``relu``,
        ``counterfactual``, ``score``, ``output``...): see
        :class:`~eli5_gradcam.nn.options.ExplainOptions`.

    Returns
    -------
    ray.data.Dataset
        Lazy, with the columns of :func:`~eli5_gradcam.ray.rows.output_schema`:
        the id column, ``target`` (int64), ``target_name`` (string or null),
        ``score`` and ``proba`` (float64), ``heatmap`` (float32 list: the
        normalised layer-resolution map, flat, row-major), ``heatmap_shape``
        (int32 list), ``layer``, ``method``, ``error`` (string or null).
        Rows come in no particular order.

    Raises
    ------
    TypeError, ValueError
        A bad argument or option, an unpicklable factory, a missing column
        (checked here where the schema is known without running, else by the
        first batch).

    Examples
    --------
    >>> ds = ray.data.read_binary_files('photos/', include_paths=True)   # doctest: +SKIP
    >>> out = explain_dataset(ds, make_model, column='bytes', id_column='path',
    ...                       image_size=(224, 224), top_targets=3)     # doctest: +SKIP
    >>> out.write_parquet('explanations.parquet')                       # doctest: +SKIP
    """
    if not isinstance(dataset, ray.data.Dataset):
        raise TypeError(f'dataset must be a ray.data.Dataset; got {type(dataset).__name__}')
    _check_factory(model_factory)
    _check_columns(dataset, column, id_column)
    _check_count('batch_size', batch_size)
    _check_count('num_workers', num_workers, allow_none=True)
    _check_count('num_gpus_per_worker', num_gpus_per_worker, minimum=0, integral=False)
    _check_count('num_cpus_per_worker', num_cpus_per_worker, minimum=0, integral=False)
    if on_error not in ON_ERROR:
        raise ValueError(f'on_error must be one of {ON_ERROR}; got {on_error!r}')
    checked = _options(options)
    plan = WorkPlan(column=column, id_column=id_column,
                    options={**options, 'method': checked.method}, on_error=on_error,
                    decoding=Decoding(check_image_size(image_size), check_preprocess(preprocess)),
                    threads=max(1, int(num_cpus_per_worker)), use_gpu=num_gpus_per_worker > 0,
                    batch_size=int(batch_size))
    return dataset.map_batches(
        ExplainWorker, fn_constructor_args=(model_factory, plan), batch_size=int(batch_size),
        batch_format='numpy', compute=_compute(num_workers), num_cpus=num_cpus_per_worker,
        num_gpus=num_gpus_per_worker or None)
