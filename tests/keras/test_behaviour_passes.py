"""Behaviour of the gradient-free methods on the trained localisation sets of
``test_behaviour.py``, on every backend: the map peaks on the deciding shape / word.

Each model is trained once per backend process (seeded); every method explains
the same held-out documents and prints its hit rate (``pytest -s``).
"""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5_gradcam  # noqa: E402
from test_behaviour import (HELD_OUT, PLUS, SHAPE, SIDE, SQUARE, VOCABULARY,  # noqa: E402
                            _fit, _images, _sentences)

layers = keras.layers

#: method -> (options, least hits out of HELD_OUT); the measured rates are printed
IMAGE_METHODS = {
    'scorecam': ({}, 90),
    'faster scorecam (4 of 16 maps)': ({'method': 'scorecam', 'scorecam_maps': 4}, 85),
    'ablationcam': ({}, 90),
    'eigencam': ({}, 85),
}


@pytest.fixture(scope='module')
def image_model():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = keras.Sequential([
        keras.Input((SIDE, SIDE, 1)),
        layers.Conv2D(8, 3, padding='same', activation='relu'),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, padding='same', activation='relu', name='conv'),
        layers.GlobalMaxPooling2D(),
        layers.Dense(3, name='logits'),
    ])
    images, labels, _ = _images(900, rng)
    _fit(model, images, labels, epochs=6, from_logits=True)
    test_images, test_labels, corners = _images(HELD_OUT, rng, classes=(PLUS, SQUARE))
    accuracy = np.mean(np.argmax(model.predict(test_images, verbose=0), axis=1) == test_labels)
    assert accuracy > 0.95, accuracy
    return model, test_images, corners


@pytest.mark.parametrize('name', list(IMAGE_METHODS))
def test_heatmap_peaks_on_the_deciding_shape(name, image_model):
    model, images, corners = image_model
    options, least = IMAGE_METHODS[name]
    options = {'method': name, **options}
    hits = 0
    for expl, (row, col) in zip(eli5_gradcam.explain_predictions(
            model, images, batch_size=HELD_OUT, progress=False, **options), corners):
        heatmap = expl.targets[0].heatmap
        assert heatmap.shape == (SIDE // 2, SIDE // 2)
        cell_row, cell_col = np.unravel_index(np.argmax(heatmap), heatmap.shape)
        hits += int(row - 2 < 2 * cell_row < row + SHAPE and col - 2 < 2 * cell_col < col + SHAPE)
    print(f'{keras.backend.backend()} {name}: localisation {hits}/{HELD_OUT}')
    assert hits >= least, hits


def test_planted_word_gets_the_highest_ablation_weight():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    model = keras.Sequential([
        keras.Input((10,), dtype='int32'),
        layers.Embedding(len(VOCABULARY), 16),
        layers.Conv1D(16, 1, activation='relu', name='conv'),
        layers.GlobalMaxPooling1D(),
        layers.Dense(2, activation='softmax'),
    ])
    ids, labels, _ = _sentences(1000, rng)
    _fit(model, ids, labels, epochs=5, from_logits=False)
    test_ids, _, where = _sentences(HELD_OUT, rng)
    tokens = [[VOCABULARY[i] for i in sentence] for sentence in test_ids]
    hits = 0
    for expl, position in zip(eli5_gradcam.explain_predictions(
            model, test_ids, tokens=tokens, batch_size=HELD_OUT, progress=False,
            method='ablationcam'), where):
        spans = expl.targets[0].weighted_spans.docs_weighted_spans[0].spans
        hits += int(int(np.argmax([weight for _, _, weight in spans])) == position)
    print(f'{keras.backend.backend()} ablationcam: planted word {hits}/{HELD_OUT}')
    assert hits >= 90, hits
