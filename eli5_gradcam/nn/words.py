"""Text as the user wrote it: token weights shown on the original characters.

A fast tokenizer's ``offset_mapping`` gives each token's ``(start, end)``
characters in the original text.  With it an explanation highlights the
text itself rather than the tokens joined by spaces:

* special tokens (``[CLS]``, ``[SEP]``, ``<s>``: empty offsets ``start ==
  end``) and padding get no span;
* the pieces of one word (``play`` ``##ing``: adjacent offsets, letters or
  digits on both sides of the join; punctuation stays a word of its own)
  read as one word, whose weight is the **sum** of its pieces' weights (the
  share of the map that falls on the word, as attribution methods merge
  sub-words), then the words' weights are normalised again.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from .text import TokenLayout, token_feature_names

__all__ = ['Word', 'check_offsets', 'words_from_offsets', 'word_weights', 'word_layout']


@dataclass(frozen=True)
class Word:
    """One word of the original text and the tokens it is made of.

    Attributes
    ----------
    start, end : int
        Its characters in the text.
    pieces : tuple of int
        Positions of its tokens.
    """

    start: int
    end: int
    pieces: Tuple[int, ...]


def check_offsets(offsets: object, n_tokens: int, text: str) -> np.ndarray:
    """``offsets`` as an ``(n_tokens, 2)`` int array inside ``text``, or a named error."""
    if not isinstance(text, str):
        raise TypeError(f'text must be the original str; got {type(text).__name__}')
    try:
        array = np.asarray(offsets, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise TypeError('offsets must be (start, end) character positions, one pair per '
                        f'token; got {type(offsets).__name__}') from exc
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.shape != (n_tokens, 2):
        raise ValueError(f'offsets has shape {array.shape}; it needs one (start, end) pair '
                         f'per token: ({n_tokens}, 2)')
    if (array < 0).any() or (array[:, 1] < array[:, 0]).any() or array.max(initial=0) > len(text):
        raise ValueError(f'offsets do not match the text: every (start, end) must satisfy '
                         f'0 <= start <= end <= {len(text)} (len(text)); got '
                         f'{array[(array[:, 1] < array[:, 0]) | (array.max(1) > len(text))][:3].tolist()}')
    return array


def words_from_offsets(text: str, offsets: np.ndarray, skip: np.ndarray) -> List[Word]:
    """The words of ``text`` that the tokens cover, in order.

    Parameters
    ----------
    text : str
    offsets : numpy.ndarray
        ``(n_tokens, 2)`` from :func:`check_offsets`.
    skip : numpy.ndarray
        ``(n_tokens,)`` bool: padding, removed.

    Returns
    -------
    list of Word
        Tokens with empty offsets (special tokens) belong to no word.
    """
    words: List[Word] = []
    for position, (start, end) in enumerate(offsets.tolist()):
        if skip[position] or end <= start:
            continue
        if (words and words[-1].start <= start <= words[-1].end and start > 0
                and text[start - 1].isalnum() and text[start].isalnum()):
            last = words[-1]
            words[-1] = Word(last.start, max(last.end, end), last.pieces + (position,))
        else:
            words.append(Word(start, end, (position,)))
    return words


def word_weights(heatmaps: np.ndarray, words: Sequence[Word]) -> np.ndarray:
    """``(..., n_tokens)`` token weights summed into ``(..., n_words)`` word weights."""
    heatmaps = np.asarray(heatmaps, dtype=np.float64)
    if not words:
        return heatmaps[..., :0]
    return np.stack([heatmaps[..., list(word.pieces)].sum(axis=-1) for word in words], -1)


def word_layout(text: str, words: Sequence[Word]) -> Tuple[List[str], TokenLayout]:
    """The words' strings and their spans in the original ``text``."""
    strings = [text[word.start:word.end] for word in words]
    names = token_feature_names(strings)
    pieces = [(name, [(word.start, word.end)]) for name, word in zip(names, words)]
    return strings, TokenLayout(text, pieces, None, names)
