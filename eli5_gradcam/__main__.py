"""``python -m eli5_gradcam``: the ``eli5-gradcam`` command line."""
import sys

from .cli import main

if __name__ == '__main__':
    sys.exit(main())
