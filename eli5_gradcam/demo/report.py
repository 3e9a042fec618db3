"""A small self-contained HTML report: sections of captioned images and HTML."""
from __future__ import annotations

import html
from pathlib import Path
from typing import List

from PIL import Image

from ..formatters.install import image_to_data_uri

__all__ = ['Report']

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
figure { display: inline-block; margin: 0 1em 1em 0; text-align: center;
         vertical-align: top; }
figcaption { font-size: 0.9em; }
section { border-top: 1px solid #ccc; padding-top: 1em; }
"""


class Report:
    """Collects sections and writes ``report.html`` (images inlined) and PNGs.

    :meth:`heading` starts a ``<section>``, closing the one before;
    :meth:`write` closes the last, so every section is closed.
    """

    def __init__(self, folder: Path, title: str) -> None:
        self.folder = folder
        self.title = title
        self.parts: List[str] = []
        self._open = False

    def heading(self, text: str, note: str = '') -> None:
        """Start a section (the previous one ends here)."""
        self._close()
        self.parts.append(f'<section><h2>{html.escape(text)}</h2>'
                          + (f'<p>{html.escape(note)}</p>' if note else ''))
        self._open = True

    def figure(self, image: Image.Image, name: str, caption: str) -> None:
        """Save ``image`` as ``name`` and show it inline, captioned across its width."""
        image.save(self.folder / name)
        self.parts.append(f'<figure><img src="{image_to_data_uri(image)}" alt="{name}" '
                          f'title="{name}" width="{image.width}" height="{image.height}">'
                          f'<figcaption style="max-width: {image.width}px">'
                          f'{html.escape(caption)}</figcaption></figure>')

    def raw_html(self, fragment: str) -> None:
        """Add HTML as it is (eli5's formatted explanations)."""
        self.parts.append(fragment)

    def _close(self) -> None:
        if self._open:
            self.parts.append('</section>')
            self._open = False

    def write(self) -> Path:
        """Write the report and return its path."""
        self._close()
        path = self.folder / 'report.html'
        path.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>'
                        f'{html.escape(self.title)}</title><style>{_STYLE}</style></head>'
                        f'<body><h1>{html.escape(self.title)}</h1>{"".join(self.parts)}'
                        '</body></html>', encoding='utf-8')
        return path
