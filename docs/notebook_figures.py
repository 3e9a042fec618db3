"""Copy the figures the documentation shows out of the saved tutorial notebooks.

A code cell of ``notebooks/*.ipynb`` whose metadata has ``"docs_figure":
"name.png"`` (or ``"name.html"``) gives its first ``image/png`` (or
``text/html``) output to ``docs/images/name``, so a page shows exactly what
its notebook shows.  After re-executing a notebook, run from the repository
root::

    python docs/notebook_figures.py

``tests/notebooks`` checks that every such figure is up to date.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Dict, Iterator, Tuple

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / 'notebooks'
IMAGES = ROOT / 'docs' / 'images'
#: File extension -> the output type it is taken from.
MIME_TYPES = {'.png': 'image/png', '.html': 'text/html'}


def _output(cell: dict, mime: str) -> bytes:
    for output in cell.get('outputs', []):
        data = output.get('data', {})
        if mime in data:
            value = data[mime]
            text = ''.join(value) if isinstance(value, list) else value
            return base64.b64decode(text) if mime.startswith('image/') else text.encode()
    raise ValueError(f"the cell marked docs_figure={cell['metadata']['docs_figure']!r} has "
                     f'no {mime} output: execute the notebook first')


def notebook_figures(notebook: Path) -> Iterator[Tuple[str, bytes]]:
    """``(file name, content)`` of each figure a notebook marks for the docs."""
    cells = json.loads(notebook.read_text(encoding='utf-8'))['cells']
    for cell in cells:
        name = cell.get('metadata', {}).get('docs_figure')
        if name:
            yield name, _output(cell, MIME_TYPES[Path(name).suffix])


def all_figures() -> Dict[str, bytes]:
    """Every marked figure of every notebook, by file name."""
    return {name: content for notebook in sorted(NOTEBOOKS.glob('*.ipynb'))
            for name, content in notebook_figures(notebook)}


if __name__ == '__main__':
    for figure, content in all_figures().items():
        (IMAGES / figure).write_bytes(content)
        print(f'docs/images/{figure}')
