"""The demo's text part: a small review classifier trained at demo time.

No labelled text corpus ships offline, so the reviews are generated: neutral
filler words and one or two opinion words that decide the label.  A
PyTorch Embedding -> Conv1d -> max-pool classifier learns them in seconds.
"""
from __future__ import annotations

from typing import Any, List, Tuple

import numpy as np

from .._optional import import_optional

__all__ = ['POSITIVE', 'NEGATIVE', 'LABELS', 'PAD', 'make_reviews', 'Vocabulary',
           'train_classifier']

POSITIVE = ('excellent', 'wonderful', 'delightful', 'superb', 'moving')
NEGATIVE = ('awful', 'boring', 'dreadful', 'clumsy', 'tedious')
FILLER = ('the', 'film', 'plot', 'was', 'a', 'and', 'acting', 'story', 'with', 'its',
          'music', 'ending', 'cast', 'scenes', 'quite', 'really', 'director', 'every',
          'of', 'this', 'script', 'camera', 'for', 'an', 'hour')
LABELS = ['negative', 'positive']
PAD = '<pad>'


def make_reviews(count: int, seed: int, length: Tuple[int, int] = (6, 14)
                 ) -> Tuple[List[List[str]], np.ndarray]:
    """Generated reviews whose label is set by the opinion word they contain."""
    rng = np.random.default_rng(seed)
    reviews, labels = [], rng.integers(0, 2, count)
    for label in labels:
        words = list(rng.choice(FILLER, rng.integers(*length)))
        opinion = POSITIVE if label else NEGATIVE
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(opinion)))
        reviews.append([str(w) for w in words])
    return reviews, labels


class Vocabulary:
    """Token <-> id, with id 0 for padding."""

    def __init__(self) -> None:
        self.words = [PAD] + sorted(set(FILLER + POSITIVE + NEGATIVE))
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
