"""The demo's text part: a small review classifier trained at demo time.

No labelled text corpus ships offline, so the reviews are generated: short
sentences a person could write ("the acting was wonderful and the music quite
unusual ."), built from templates, with one opinion word that decides the
label.  A PyTorch Embedding -> Conv1d -> max-pool classifier learns them in
seconds.
"""
from __future__ import annotations

from typing import Any, List, Tuple

import numpy as np

from .._optional import import_optional

__all__ = ['POSITIVE', 'NEGATIVE', 'LABELS', 'PAD', 'TEMPLATES', 'make_reviews', 'Vocabulary',
           'train_classifier']

POSITIVE = ('excellent', 'wonderful', 'delightful', 'superb', 'moving')
NEGATIVE = ('awful', 'boring', 'dreadful', 'clumsy', 'tedious')
#: What a review talks about.
SUBJECTS = ('film', 'plot', 'acting', 'story', 'music', 'ending', 'cast', 'script',
            'camera work', 'dialogue')
#: Descriptions that say nothing for or against.
NEUTRAL = ('new', 'familiar', 'simple', 'quiet', 'unusual', 'old-fashioned')
#: Degree words, for or against alike.
DEGREES = ('quite', 'really', 'rather', 'very', 'fairly')
#: Review sentences: ``{opinion}`` decides the label, the other slots are neutral.
TEMPLATES = (
    'the {subject} was {degree} {opinion} .',
    'the {subject} was {opinion} , and the {other} was {degree} {neutral} .',
    'the {subject} was {opinion} from start to finish .',
    'i found the {subject} {opinion} , but the {other} was {neutral} .',
    'honestly , the {subject} felt {degree} {opinion} to me .',
    'the {other} is {neutral} , and the {subject} is {opinion} .',
    'all in all , the {subject} is {degree} {opinion} .',
    'i thought the {subject} was {opinion} .',
)
LABELS = ['negative', 'positive']
PAD = '<pad>'


def _sentence(rng: np.random.Generator, opinion: str) -> List[str]:
    subject, other = (str(s) for s in rng.choice(SUBJECTS, 2, replace=False))
    text = str(rng.choice(TEMPLATES)).format(
        subject=subject, other=other, opinion=opinion, neutral=str(rng.choice(NEUTRAL)),
        degree=str(rng.choice(DEGREES)))
    return text.split()


def make_reviews(count: int, seed: int) -> Tuple[List[List[str]], np.ndarray]:
    """Generated one-sentence reviews (as tokens); the opinion word sets the label.

    Parameters
    ----------
    count : int
    seed : int

    Returns
    -------
    reviews : list of list of str
        Lower-case words and punctuation, at most 14 tokens each.
    labels : numpy.ndarray
        1 (positive) or 0 (negative) per review.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    reviews = [_sentence(rng, str(rng.choice(POSITIVE if label else NEGATIVE)))
               for label in labels]
    return reviews, labels


def _words() -> List[str]:
    parts = ' '.join(TEMPLATES + SUBJECTS + NEUTRAL + DEGREES + POSITIVE + NEGATIVE)
    return sorted({word for word in parts.split() if not word.startswith('{')})


class Vocabulary:
    """Token <-> id, with id 0 for padding."""

    def __init__(self) -> None:
        self.words = [PAD] + _words()
        self.index = {word: i for i, word in enumerate(self.words)}

    def encode(self, reviews: List[List[str]], length: int) -> np.ndarray:
        """Ids padded at the end ('post') to ``length``."""
        ids = np.zeros((len(reviews), length), dtype=np.int64)
        for row, words in enumerate(reviews):
            ids[row, :len(words)] = [self.index[w] for w in words[:length]]
        return ids


def train_classifier(seed: int = 0, epochs: int = 6, length: int = 16) -> Tuple[Any, Vocabulary]:
    """Train the review classifier (a few seconds on a CPU).

    Returns
    -------
    model : torch.nn.Module
        In eval mode; outputs two logits (negative, positive).
    vocabulary : Vocabulary
    """
    torch = import_optional('torch', 'demo')
    nn = torch.nn
    torch.manual_seed(seed)
    vocabulary = Vocabulary()
    reviews, labels = make_reviews(2000, seed)
    ids = torch.tensor(vocabulary.encode(reviews, length))
    targets = torch.tensor(labels)

    module_base: Any = nn.Module

    class ReviewClassifier(module_base):
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(len(vocabulary.words), 16, padding_idx=0)
            self.conv = nn.Conv1d(16, 32, kernel_size=3, padding=1)
            self.relu = nn.ReLU()
            self.classifier = nn.Linear(32, 2)

        def forward(self, x: Any) -> Any:
            features = self.relu(self.conv(self.embedding(x).transpose(1, 2)))
            return self.classifier(features.amax(dim=2))

    model = ReviewClassifier()
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        for start in range(0, len(ids), 64):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(model(ids[start:start + 64]),
                                               targets[start:start + 64])
            loss.backward()
            optimiser.step()
    return model.eval(), vocabulary
