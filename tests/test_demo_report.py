"""The demo report as a reader sees it (issue 18): closed sections, captions as wide as
their pictures, reviews that read as sentences, one header and table per review."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import List

import numpy as np
import pytest
from PIL import Image

from eli5_gradcam.demo.report import Report
from eli5_gradcam.demo.text import (NEGATIVE, POSITIVE, TEMPLATES, make_reviews)


class Nesting(HTMLParser):
    """Records unclosed or mismatched tags of the elements the report builds."""

    CHECKED = {'section', 'figure', 'figcaption', 'table', 'p', 'h1', 'h2'}

    def __init__(self) -> None:
        super().__init__()
        self.stack: List[str] = []
        self.errors: List[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.CHECKED:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.CHECKED:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f'</{tag}> closes {self.stack[-1:] or "nothing"}')
        else:
            self.stack.pop()


def nesting_errors(text: str) -> List[str]:
    parser = Nesting()
    parser.feed(text)
    return parser.errors + [f'<{tag}> never closed' for tag in parser.stack]


def test_every_section_is_closed_and_captions_span_their_picture(tmp_path: Path) -> None:
    report = Report(tmp_path, 'title')
    report.heading('first', 'a note')
    report.figure(Image.new('RGB', (672, 250), 'white'), 'grid.png', 'a long caption ' * 20)
    report.raw_html('<p>eli5 html</p>')
    report.heading('second')
    report.figure(Image.new('RGB', (224, 224)), 'small.png', 'small')
    text = report.write().read_text()
    assert nesting_errors(text) == []
    assert text.count('<section>') == text.count('</section>') == 2
    assert '<figcaption style="max-width: 672px">' in text      # not capped at 224 px
    assert '<figcaption style="max-width: 224px">' in text
    assert (tmp_path / 'grid.png').is_file()


def _as_template(review: List[str]) -> str:
    return ' '.join(review)


def _template_pattern(template: str) -> str:
    slots = {'subject': r'[a-z]+( work)?', 'other': r'[a-z]+( work)?',
             'opinion': '|'.join(POSITIVE + NEGATIVE), 'neutral': r'[a-z-]+',
             'degree': r'[a-z]+'}
    pattern = re.escape(template)
    for slot, regex in slots.items():
        pattern = pattern.replace(re.escape('{' + slot + '}'), f'({regex})')
    return pattern


def test_generated_reviews_are_sentences_with_one_opinion() -> None:
    reviews, labels = make_reviews(200, seed=7)
    patterns = [re.compile(_template_pattern(t) + '$') for t in TEMPLATES]
    used = set()
    for review, label in zip(reviews, labels):
        sentence = _as_template(review)
        matching = [i for i, p in enumerate(patterns) if p.match(sentence)]
        assert matching, sentence
        used.update(matching)
        opinions = [w for w in review if w in POSITIVE + NEGATIVE]
        assert len(opinions) == 1, sentence
        assert (opinions[0] in POSITIVE) == bool(label)
        assert review[-1] in '.!' and len(review) <= 16
        assert all(a != b for a, b in zip(review, review[1:])), sentence   # no "a a"
    assert used == set(range(len(TEMPLATES)))


@pytest.fixture(scope='module')
def trained():
    torch = pytest.importorskip('torch')
    torch.set_num_threads(1)
    from eli5_gradcam.demo.text import train_classifier
    return train_classifier()


def test_the_classifier_learns_the_sentences_in_seconds(trained) -> None:
    torch = pytest.importorskip('torch')
    model, vocabulary = trained
    reviews, labels = make_reviews(300, seed=99)
    with torch.no_grad():
        predicted = model(torch.tensor(vocabulary.encode(reviews, 16))).argmax(1).numpy()
    assert float(np.mean(predicted == labels)) >= 0.95


def test_each_review_has_one_header_and_one_table(tmp_path: Path, trained, monkeypatch
                                                  ) -> None:
    import eli5_gradcam.demo as demo
    import eli5_gradcam.demo.text as text
    monkeypatch.setattr(text, 'train_classifier', lambda: trained)
    report = Report(tmp_path, 'text only')
    demo._text_section(report)
    page = report.write().read_text()
    assert nesting_errors(page) == []
    assert page.count('top features') == 4 and page.count('class="eli5-weights"') == 4
    assert len(re.findall(r'y=(positive|negative)', page)) == 4
