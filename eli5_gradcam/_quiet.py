"""Quiet start-up for ``eli5-gradcam``'s own command line, and only for it.

``import eli5`` imports TensorFlow where it is installed, and TensorFlow's C++
libraries print start-up lines to the process's stderr (oneDNN, CUDA, CPU
features, absl), twice.  A user's ``import eli5_gradcam`` is left alone: their
program, their logging.  When the process *is* our command (the
``eli5-gradcam`` script or ``python -m eli5_gradcam``), eli5 is imported here
first, before the package imports it, with the stderr file descriptor caught:
the lines known to be TensorFlow's start-up noise are dropped and anything
else is written back as it came.
"""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator, Sequence

__all__ = ['NOISE', 'is_our_command', 'filtered_stderr', 'quiet_start']

#: Fragments of TensorFlow's start-up lines (C++ logging, written to fd 2).
NOISE = (
    'All log messages before absl::InitializeLog() is called are written to STDERR',
    'oneDNN custom operations are on',
    'Could not find cuda drivers on your machine',
    'cpu_feature_guard.cc',
    'rebuild TensorFlow with the appropriate compiler flags',
    'Unable to register cuDNN factory', 'Unable to register cuFFT factory',
    'Unable to register cuBLAS factory', 'computation placer already registered',
    'TF-TRT Warning: Could not find TensorRT',
)


def is_our_command(argv: Sequence[str], orig_argv: Sequence[str]) -> bool:
    """Whether this process runs ``eli5-gradcam`` (the script, or ``-m eli5_gradcam``).

    Parameters
    ----------
    argv : sequence of str
        ``sys.argv``.
    orig_argv : sequence of str
        ``sys.orig_argv``: the interpreter's own command line.
    """
    if argv and os.path.basename(argv[0]) in ('eli5-gradcam', 'eli5-gradcam.exe'):
        return True
    arguments = list(orig_argv[1:])
    while arguments:
        argument = arguments.pop(0)
        if argument == '-m':
            return arguments[:1] == ['eli5_gradcam']
        if argument in ('-X', '-W', '--check-hash-based-pycs'):
            arguments = arguments[1:]           # the option's value
        elif argument == '-c' or not argument.startswith('-'):
            return False                        # -c or a script: the user's program
    return False


@contextmanager
def filtered_stderr(noise: Sequence[str] = NOISE) -> Iterator[None]:
    """Catch what is written to file descriptor 2; write back all but ``noise`` lines."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:                 # no stderr to filter
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().decode(errors='replace').splitlines(True)
                    if not any(fragment in line for fragment in noise)]
            if kept:
                sys.stderr.write(''.join(kept))
                sys.stderr.flush()


def quiet_start() -> None:
    """In our own command only: import eli5 (and TensorFlow with it) without its noise."""
    if 'eli5' in sys.modules or not is_our_command(sys.argv, getattr(sys, 'orig_argv', ())):
        return
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    with filtered_stderr():
        import eli5  # noqa: F401
