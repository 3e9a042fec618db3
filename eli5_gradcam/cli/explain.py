"""``eli5-gradcam explain``: explain a model's predictions on files."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..nn.gradcam import METHOD_TITLES
from .inputs import PREPROCESSING, expand_inputs, load_document
from .models import input_size, load_labels, load_model

__all__ = ['add_explain_parser', 'run_explain']


def add_explain_parser(commands: Any) -> None:
    """Register the ``explain`` sub-command."""
    parser = commands.add_parser(
        'explain', help="explain a model's predictions on images or .npy arrays",
        description='Explain a model\'s predictions with Grad-CAM. Writes one overlay '
                    '(PNG) and one JSON (eli5.format_as_dict) per input, and report.html.')
    parser.add_argument('model', metavar='MODEL',
                        help='a Keras model file (.keras, .h5) or package.module:factory, '
                             'a callable returning a PyTorch or Keras model')
    parser.add_argument('inputs', metavar='INPUT', nargs='+',
                        help='image files (anything Pillow opens), folders of images, or '
                             '.npy arrays (used as the model input as they are)')
    parser.add_argument('-o', '--output', default='gradcam-output',
                        help='output folder (default: %(default)s)')
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--target', nargs='+', metavar='T',
                       help='classes to explain: indices, or names from --labels '
                            '(default: the top prediction)')
    which.add_argument('--top-targets', type=_nonzero, metavar='K',
                       help='explain the K highest-scoring classes')
    parser.add_argument('--layer', help='layer to explain (default: chosen automatically)')
    parser.add_argument('--method', default='gradcam', choices=sorted(METHOD_TITLES),
                        help='CAM method (default: %(default)s)')
    parser.add_argument('--no-relu', dest='relu', action='store_false',
                        help='keep negative evidence (signed heatmaps)')
    parser.add_argument('--counterfactual', action='store_true',
                        help='show what lowers the score')
    parser.add_argument('--labels', metavar='FILE',
                        help="class names, one per line, or 'imagenet' for the 1,000 "
                             'ImageNet classes shipped with the package')
    parser.add_argument('--size', nargs=2, type=_side, metavar=('H', 'W'),
                        help='resize images to H x W, squashing them when the aspect ratio '
                             'differs (default: the Keras model\'s input size, else '
                             '224 x 224)')
    parser.add_argument('--crop', action='store_true',
                        help='keep the aspect ratio: scale images to cover H x W and cut '
                             'out the centre (as ImageNet preprocessing and the demo do)')
    parser.add_argument('--preprocess', choices=PREPROCESSING, default='imagenet',
                        help='pixel scaling: ImageNet mean/std on [0, 1], [0, 1], or raw '
                             '[0, 255] (default: %(default)s)')


#: Largest side ``--size`` accepts: bigger images would exhaust memory, not explain.
MAX_SIDE = 8192


def _side(text: str) -> int:
    """An image side for ``--size``: an int in [1, MAX_SIDE]."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid int value: {text!r}') from None
    if not 1 <= value <= MAX_SIDE:
        raise argparse.ArgumentTypeError(f'must be between 1 and {MAX_SIDE} pixels; '
                                         f'got {value}')
    return value


def _nonzero(text: str) -> int:
    """``--top-targets``: a non-zero int (negative: the lowest scores)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid int value: {text!r}') from None
    if value == 0:
        raise argparse.ArgumentTypeError('must be a non-zero int (negative: the lowest '
                                         'scores); got 0')
    return value


def _targets(values: Optional[List[str]]) -> Optional[List[Any]]:
    if values is None:
        return None
    return [int(v) if v.lstrip('-').isdigit() else v for v in values]


def _progress(items: List[Path]) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:   # pragma: no cover - tqdm is a dependency
        return items
    return tqdm(items, desc='explaining', unit='input', disable=len(items) < 2)


def run_explain(args: argparse.Namespace) -> Path:
    """Run ``explain``; return the report's path."""
    import eli5

    import eli5_gradcam  # noqa: F401  (registration and formatters)

    from .._dispatch import framework_of
    from ..demo.report import Report
    from ..formatters.html import image_explanation_html

    paths = expand_inputs(args.inputs)
    model = load_model(args.model)
    labels = load_labels(args.labels)
    channels_first = framework_of(model) == 'torch'
    size = tuple(args.size) if args.size else (input_size(model) or (224, 224))
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    report = Report(folder, f'eli5-gradcam: {args.model}')
    options: Dict[str, Any] = dict(targets=_targets(args.target), top_targets=args.top_targets,
                                   target_names=labels, layer=args.layer, method=args.method,
                                   relu=args.relu, counterfactual=args.counterfactual)
    for path in _progress(paths):
        document = load_document(path, size=size, preprocess=args.preprocess,
                                 channels_first=channels_first, crop=args.crop)
        expl = eli5.explain_prediction(model, document.array, image=document.image, **options)
        if expl.error:
            raise ValueError(f'{path}: {expl.error}')
        (folder / f'{path.stem}.json').write_text(json.dumps(eli5.format_as_dict(expl)),
                                                  encoding='utf-8')
        report.heading(str(path), expl.description or '')
        if expl.image is not None:
            report.figure(eli5.format_as_image(expl), f'{path.stem}.png',
                          ', '.join(f'{t.target} ({t.score:.3f})' for t in expl.targets or []))
        if expl.image is not None:       # the overlays are the figure above
            report.raw_html(image_explanation_html(expl, show=['targets'], overlays=False))
        else:
            report.raw_html(eli5.format_as_html(expl, show=['targets']))
    return report.write()
