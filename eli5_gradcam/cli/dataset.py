"""``eli5-gradcam explain-dataset``: a folder of images -> Parquet, on Ray Data."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict

from ..nn.gradcam import METHODS
from .explain import _nonzero, _side, _targets
from .inputs import IMAGE_SUFFIXES, PREPROCESSING
from .models import load_labels, load_model

__all__ = ['add_dataset_parser', 'run_dataset', 'ModelSpec']


def add_dataset_parser(commands: Any) -> None:
    """Register the ``explain-dataset`` sub-command."""
    parser = commands.add_parser(
        'explain-dataset', help='explain every image of a folder on Ray; write Parquet',
        description='Explain every image of a folder with a pool of Ray workers (a local Ray '
                    'instance, or a cluster with --address) and write one row per image and '
                    'target to Parquet. Needs the ray extra: pip install '
                    "'eli5-gradcam[ray]'.")
    parser.add_argument('--model', required=True,
                        help='package.module:factory (a callable returning a PyTorch or Keras '
                             'model, called once per worker) or a Keras model file')
    parser.add_argument('--images', required=True, metavar='DIR',
                        help='folder (or file) of images; on a cluster, storage every node '
                             'reads (a shared folder, s3://...)')
    parser.add_argument('--out', required=True, metavar='PATH.parquet',
                        help='output Parquet folder (one file per block)')
    parser.add_argument('--workers', type=_positive, metavar='N',
                        help='actors in the pool (default: scaled by Ray to the free CPUs)')
    parser.add_argument('--address', help="Ray cluster to join ('auto', HOST:PORT, "
                                          'ray://HOST:PORT; default: $RAY_ADDRESS, else a '
                                          'local Ray instance)')
    parser.add_argument('--gpus-per-worker', type=float, default=0, metavar='G',
                        help='GPUs per worker (default: %(default)s)')
    parser.add_argument('--batch-size', type=_positive, default=32, metavar='B',
                        help='images per forward pass (default: %(default)s)')
    parser.add_argument('--on-error', choices=('record', 'raise'), default='record',
                        help="an unreadable image or a model error: an error row ('record', "
                             "default) or stop ('raise')")
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--target', nargs='+', metavar='T',
                       help='classes to explain: indices, or names from --labels')
    which.add_argument('--top-targets', type=_nonzero, metavar='K',
                       help='explain the K highest-scoring classes')
    parser.add_argument('--layer', help='layer to explain (default: chosen automatically)')
    parser.add_argument('--method', default='gradcam', choices=sorted(METHODS),
                        help='CAM method (default: %(default)s)')
    parser.add_argument('--no-relu', dest='relu', action='store_false',
                        help='keep negative evidence (signed heatmaps)')
    parser.add_argument('--counterfactual', action='store_true',
                        help='show what lowers the score')
    parser.add_argument('--labels', metavar='FILE',
                        help="class names, one per line, or 'imagenet'")
    parser.add_argument('--size', nargs=2, type=_side, default=(224, 224), metavar=('H', 'W'),
                        help='resize images to H x W (default: 224 224)')
    parser.add_argument('--preprocess', choices=PREPROCESSING, default='imagenet',
                        help='pixel scaling (default: %(default)s)')


def _positive(text: str) -> int:
    """``--workers`` / ``--batch-size``: a positive int."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid int value: {text!r}') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be a positive int; got {value}')
    return value


@dataclass(frozen=True)
class ModelSpec:
    """The ``--model`` of the command line as a picklable model factory.

    Attributes
    ----------
    spec : str
        ``package.module:factory`` or a Keras model file (absolute path).
    search_path : str
        Folder the module is imported from (the command's working directory),
        added to ``sys.path`` in each worker.
    """

    spec: str
    search_path: str

    def __call__(self) -> Any:
        """Build the model (in a worker), see :func:`.models.load_model`."""
        if self.search_path not in sys.path:
            sys.path.insert(0, self.search_path)
        return load_model(self.spec)


def _model_spec(spec: str) -> ModelSpec:
    """Check ``--model`` without building the model; the factory the workers call."""
    if spec.endswith(('.keras', '.h5')):
        if not Path(spec).is_file():
            raise ValueError(f'model file {spec!r} does not exist')
        return ModelSpec(str(Path(spec).resolve()), os.getcwd())
    module_name, _, factory_name = spec.partition(':')
    if not module_name or not factory_name:
        raise ValueError(f'--model must be package.module:factory or a .keras/.h5 file; '
                         f'got {spec!r}')
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:     # noqa: BLE001 - ImportError, SyntaxError, the module's own
        raise ValueError(f'could not import {module_name!r} for --model {spec!r}: '
                         f'{type(exc).__name__}: {exc}') from exc
    if not callable(getattr(module, factory_name, None)):
        raise ValueError(f'{module_name!r} has no callable {factory_name!r} (--model {spec!r})')
    return ModelSpec(spec, os.getcwd())


def _summary(out: Path) -> str:
    import pyarrow.parquet as parquet
    table = parquet.read_table(out, columns=['id', 'error'])
    errors = table.column('error').drop_null()
    documents = len(set(table.column('id').to_pylist()))
    return (f'{documents} images, {table.num_rows} rows, {len(errors)} errors '
            f'(see the error column)')


def run_dataset(args: argparse.Namespace) -> Path:
    """Run ``explain-dataset``; return the Parquet folder."""
    from .._optional import import_optional
    import_optional('ray.data', 'ray')
    import ray

    from ..ray import connect, explain_dataset

    images = Path(args.images)
    if not images.exists() and '://' not in args.images:
        raise ValueError(f'--images {args.images!r}: no such file or folder')
    factory = _model_spec(args.model)
    options: Dict[str, Any] = dict(targets=_targets(args.target), top_targets=args.top_targets,
                                   target_names=load_labels(args.labels), layer=args.layer,
                                   method=args.method, relu=args.relu,
                                   counterfactual=args.counterfactual)
    started = connect(args.address)
    try:
        documents = ray.data.read_binary_files(
            args.images, include_paths=True,
            file_extensions=[suffix.lstrip('.') for suffix in IMAGE_SUFFIXES])
        explained = explain_dataset(
            documents, factory, column='bytes', id_column='path', batch_size=args.batch_size,
            num_workers=args.workers, num_gpus_per_worker=args.gpus_per_worker,
            on_error=args.on_error, image_size=tuple(args.size), preprocess=args.preprocess,
            **options)
        out = Path(args.out)
        explained.rename_columns({'path': 'id'}).write_parquet(str(out))
    finally:
        if started:
            ray.shutdown()
    print(f'eli5-gradcam explain-dataset: {_summary(out)}')
    return out
