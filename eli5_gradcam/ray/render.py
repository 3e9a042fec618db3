"""Read the runner's Parquet back; draw a sample of its rows as overlays and HTML.

Needs pandas and pyarrow (no Ray): results can be looked at on a laptop after
a cluster wrote them.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Union

import numpy as np
from eli5.base import TargetExplanation
from PIL import Image

from ..demo.report import Report
from ..formatters.image import format_as_image
from ..nn.explanation import GradCAMExplanation
from .rows import HEATMAP_DTYPE

if TYPE_CHECKING:
    import pandas

__all__ = ['read_explanations', 'render_sample']

Source = Union[str, Path, 'pandas.DataFrame']


def read_explanations(source: Source) -> 'pandas.DataFrame':
    """The explanations as a DataFrame, each ``heatmap`` an n-D numpy array.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        A Parquet file or folder written from :func:`explain_dataset`'s
        output, or a DataFrame read from one.

    Returns
    -------
    pandas.DataFrame
        One row per document and target; ``heatmap`` is a float32 array of
        shape ``heatmap_shape`` (None in error rows).
    """
    import pandas
    frame = source.copy() if isinstance(source, pandas.DataFrame) else pandas.read_parquet(source)
    for name in ('heatmap', 'heatmap_shape', 'error'):
        if name not in frame.columns:
            raise ValueError(f'source has no column {name!r}: it is not explain_dataset '
                             f'output (its columns: {list(frame.columns)})')
    frame['heatmap'] = [
        None if flat is None else np.asarray(flat, dtype=HEATMAP_DTYPE).reshape(
            tuple(int(side) for side in shape))
        for flat, shape in zip(frame['heatmap'], frame['heatmap_shape'])]
    return frame


def _picture(doc_id: Any, images: Optional[Callable[[Any], Image.Image]]) -> Image.Image:
    if images is not None:
        picture = images(doc_id)
        if not isinstance(picture, Image.Image):
            raise TypeError(f'images({doc_id!r}) must return a PIL.Image.Image; got '
                            f'{type(picture).__name__}')
        return picture
    try:
        with Image.open(str(doc_id)) as opened:
            return opened.convert('RGB')
    except (OSError, ValueError) as exc:
        raise ValueError(f'cannot open {doc_id!r} as an image: ids are image paths only when '
                         'the documents were; pass images=callable(id) -> PIL.Image') from exc


def _explanation(rows: 'pandas.DataFrame', picture: Image.Image) -> GradCAMExplanation:
    import pandas
    targets = [TargetExplanation(
        target=row.target_name if isinstance(row.target_name, str) else int(row.target),
        score=float(row.score), proba=None if pandas.isna(row.proba) else float(row.proba),
        heatmap=row.heatmap) for row in rows.itertuples()]
    first = rows.iloc[0]
    return GradCAMExplanation(estimator='explain_dataset', method=first['method'],
                              targets=targets, image=picture, layer=first['layer'])


def _sample_ids(frame: 'pandas.DataFrame', id_column: str, sample: int, seed: int) -> List[Any]:
    ids = list(dict.fromkeys(frame[id_column].tolist()))
    ids.sort(key=str)
    if len(ids) > sample:
        ids = sorted(random.Random(seed).sample(ids, sample), key=str)
    return ids


def render_sample(source: Source, folder: Union[str, Path], *, id_column: str = 'id',
                  sample: int = 16, seed: int = 0,
                  images: Optional[Callable[[Any], Image.Image]] = None,
                  title: str = 'eli5-gradcam: explained dataset (sample)') -> Path:
    """Draw a sample of documents: one PNG overlay each and ``report.html``.

    Each sampled document's targets are drawn with
    :func:`eli5_gradcam.format_as_image` (one overlay, or a captioned grid for
    several targets); documents with an error, or whose heatmaps are not 2-D,
    are listed with their error or shape.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        See :func:`read_explanations`.
    folder : str or pathlib.Path
        Where ``doc_NNN.png`` and ``report.html`` are written (created).
    id_column : str
        The id column of the output.
    sample : int
        Documents drawn, at random (``seed``) when there are more.
    seed : int
    images : callable, optional
        ``images(id)`` returns the picture to draw on; default: the id is the
        path of an image file (as with ``read_binary_files(include_paths=True)``).
    title : str

    Returns
    -------
    pathlib.Path
        ``report.html``.
    """
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValueError(f'sample must be a positive int; got {sample!r}')
    frame = read_explanations(source)
    if id_column not in frame.columns:
        raise ValueError(f'id_column: no column {id_column!r}; columns: {list(frame.columns)}')
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    report = Report(out, title)
    for number, doc_id in enumerate(_sample_ids(frame, id_column, sample, seed)):
        rows = frame[frame[id_column] == doc_id]
        errors = [message for message in rows['error'] if isinstance(message, str)]
        if errors:
            report.heading(str(doc_id), f'error: {errors[0]}')
            continue
        shapes = {heatmap.shape for heatmap in rows['heatmap']}
        if any(len(shape) != 2 for shape in shapes):
            report.heading(str(doc_id), f'heatmap shape {sorted(shapes)}: not an image')
            continue
        explanation = _explanation(rows, _picture(doc_id, images))
        report.heading(str(doc_id), f"layer '{rows.iloc[0]['layer']}', "
                                    f"{rows.iloc[0]['method']}")
        report.figure(format_as_image(explanation), f'doc_{number:03d}.png',
                      ', '.join(f'{t.target} ({t.score:.3f})' for t in explanation.targets))
    return report.write()
