"""Command line: ``eli5-gradcam demo`` (also ``python -m eli5_gradcam demo``)."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

__all__ = ['main']


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='eli5-gradcam',
        description='Grad-CAM explanations of neural-network predictions, for eli5.')
    commands = parser.add_subparsers(dest='command', required=True)
    demo = commands.add_parser(
        'demo', help='run the end-to-end example and write its images and report')
    demo.add_argument('-o', '--output', default='demo-output',
                      help='folder for the images and report (default: %(default)s)')
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == 'demo':
        from .demo import run_demo
        report = run_demo(args.output)
        print(f'eli5-gradcam demo: report written to {report}')
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == '__main__':
    sys.exit(main())
