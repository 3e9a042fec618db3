"""Deletion and insertion: known answers on models that read one pixel or count one token."""
from __future__ import annotations

import numpy as np
import pytest
from eli5.base import Explanation, TargetExplanation

from eli5_gradcam import metrics
from metric_models import pixel_reader, rank_map, token_counter

SIDE = 6
N = SIDE * SIDE


def _image(channels_first: bool = True) -> np.ndarray:
    doc = np.ones((1, 3, SIDE, SIDE)) if channels_first else np.ones((1, SIDE, SIDE, 3))
    return doc


@pytest.mark.parametrize('rank', [0, 7, N - 1])
def test_deletion_falls_exactly_at_the_step_that_removes_the_pixel(rank: int) -> None:
    heatmap = rank_map((SIDE, SIDE), (0, 0))           # raster order from pixel (0, 1) on
    order = np.argsort(-heatmap.ravel(), kind='stable')
    row, col = divmod(int(order[rank]), SIDE)
    curve = metrics.deletion(pixel_reader(row, col), _image(), heatmap, steps=N)
    expected = np.where(np.arange(N + 1) <= rank, 1.0, 0.0)
    np.testing.assert_array_equal(curve.scores, expected)
    np.testing.assert_allclose(curve.fractions, np.arange(N + 1) / N)
    assert curve.auc == pytest.approx((rank + 0.5) / N)       # trapezoids: a half step
    assert curve.target == 0 and curve.original_score == 1.0 and curve.kind == 'deletion'


def test_insertion_rises_exactly_at_the_step_that_reveals_the_pixel() -> None:
    heatmap = rank_map((SIDE, SIDE), (2, 3))                  # pixel (2, 3) first
    curve = metrics.insertion(pixel_reader(2, 3), _image(), heatmap, steps=N, baseline=0.0)
    np.testing.assert_array_equal(curve.scores, [0.0] + [1.0] * N)
    assert curve.auc == pytest.approx(1.0 - 0.5 / N)


def test_fewer_steps_remove_round_i_n_over_steps_pixels() -> None:
    heatmap = rank_map((SIDE, SIDE), (0, 0))
    order = np.argsort(-heatmap.ravel(), kind='stable')
    row, col = divmod(int(order[10]), SIDE)                   # the 11th pixel
    curve = metrics.deletion(pixel_reader(row, col), _image(), heatmap, steps=5)
    # steps remove 0, 7, 14, 22, 29, 36 pixels (round(i * 36 / 5)): the 11th goes at step 2
    np.testing.assert_allclose(curve.fractions * N, [0, 7, 14, 22, 29, 36])
    np.testing.assert_array_equal(curve.scores, [1, 1, 0, 0, 0, 0])


def test_channels_last_documents_give_the_same_curve() -> None:
    heatmap = rank_map((SIDE, SIDE), (4, 1))
    first = metrics.deletion(pixel_reader(4, 1, True), _image(True), heatmap, steps=9)
    last = metrics.deletion(pixel_reader(4, 1, False), _image(False), heatmap, steps=9)
    np.testing.assert_array_equal(first.scores, last.scores)
    assert first.scores[1] == 0.0


def test_layer_resolution_map_is_upsampled_onto_the_pixels() -> None:
    # A 2x2 map with only its top-right cell on, upsampled bilinearly (pixel
    # centres, edges clamped) to 6x6: the 2x2 pixel block at the top-right
    # corner is at the cell's full value, every other pixel below it.  The
    # first step of 4 pixels removes exactly that block.
    def corner_sum(batch: np.ndarray) -> np.ndarray:
        return batch[:, 0, :2, 4:].sum(axis=(1, 2))[:, np.newaxis]
    coarse = np.array([[0.0, 1.0], [0.0, 0.0]])
    curve = metrics.deletion(corner_sum, _image(), coarse, steps=9)
    np.testing.assert_array_equal(curve.scores, [4.0] + [0.0] * 9)


def test_token_ids_deleted_with_the_pad_id() -> None:
    doc = np.array([[5, 7, 3, 9, 7, 2]])
    heatmap = np.array([0.1, 0.9, 0.2, 0.3, 0.0, 0.4])        # position 1 first, 4 last
    curve = metrics.deletion(token_counter(7), doc, heatmap, steps=6)
    np.testing.assert_array_equal(curve.scores, [2, 1, 1, 1, 1, 1, 0])
    assert curve.target == 1                                    # the top prediction
    inserted = metrics.insertion(token_counter(7), doc, heatmap, steps=6)
    np.testing.assert_array_equal(inserted.scores, [0, 1, 1, 1, 1, 1, 2])


def test_explanation_gives_the_map_and_the_target() -> None:
    heatmap = rank_map((SIDE, SIDE), (1, 1))
    other = np.zeros((SIDE, SIDE))
    expl = Explanation('model', targets=[TargetExplanation(target='a', heatmap=other),
                                         TargetExplanation(target='b', heatmap=heatmap)])

    def two_outputs(batch: np.ndarray) -> np.ndarray:
        pixel = batch[:, 0, 1, 1]
        return np.stack([pixel * 0 + 5, pixel], axis=1)
    curve = metrics.deletion(two_outputs, _image(), expl, steps=N, target='b',
                             target_names=['a', 'b'])
    assert curve.target == 1 and curve.scores[1] == 0.0
    by_index = metrics.deletion(two_outputs, _image(), expl, steps=N, target=1,
                                target_names=['a', 'b'])
    np.testing.assert_array_equal(by_index.scores, curve.scores)


def test_softmax_score_and_batch_size_do_not_change_the_numbers() -> None:
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(3 * N, 4))

    def logits(batch: np.ndarray) -> np.ndarray:
        return batch.reshape(len(batch), -1) @ weights
    doc, heatmap = rng.random((1, 3, SIDE, SIDE)), rng.random((SIDE, SIDE))
    raw = metrics.deletion(logits, doc, heatmap, steps=12, target=2, batch_size=1)
    soft = metrics.deletion(logits, doc, heatmap, steps=12, target=2, score='softmax',
                            batch_size=5)
    fractions, scores = raw.fractions, []
    for count in np.rint(fractions * N).astype(int):
        order = np.argsort(-heatmap.ravel())[:count]
        masked = doc.copy().reshape(1, 3, N)
        masked[..., order] = 0.0
        row = logits(masked.reshape(doc.shape))[0]
        scores.append(np.exp(row[2]) / np.exp(row).sum())
    np.testing.assert_allclose(soft.scores, scores, rtol=1e-12)


def test_tied_values_are_removed_in_a_seeded_order() -> None:
    flat = np.zeros((SIDE, SIDE))
    rng = np.random.default_rng(1)
    doc = rng.random((1, 3, SIDE, SIDE))

    def total(batch: np.ndarray) -> np.ndarray:
        return batch.reshape(len(batch), -1).sum(axis=1)[:, np.newaxis]
    first = metrics.deletion(total, doc, flat, steps=N, seed=3)
    again = metrics.deletion(total, doc, flat, steps=N, seed=3)
    other = metrics.deletion(total, doc, flat, steps=N, seed=4)
    np.testing.assert_array_equal(first.scores, again.scores)
    assert not np.array_equal(first.scores, other.scores)


def test_progress_bar_on_request(capsys: pytest.CaptureFixture) -> None:
    metrics.deletion(pixel_reader(0, 0), _image(), np.ones((SIDE, SIDE)), steps=4,
                     progress=True)
    assert 'deletion' in capsys.readouterr().err


def test_signature_lists_the_scoring_options() -> None:
    import inspect
    parameters = inspect.signature(metrics.deletion).parameters
    assert {'steps', 'baseline', 'target', 'batch_size', 'progress', 'seed'} <= set(parameters)


@pytest.mark.parametrize('keywords, error, match', [
    ({'steps': 0}, ValueError, 'steps must be between 1 and the number of positions'),
    ({'steps': N + 1}, ValueError, 'steps must be between 1'),
    ({'steps': 2.5}, TypeError, 'steps must be an int'),
    ({'baseline': 'noise'}, ValueError, 'baseline must be one of'),
    ({'baseline': np.zeros((2, 2))}, ValueError, 'baseline has shape'),
    ({'batch_size': 0}, ValueError, 'batch_size must be a positive int'),
    ({'score': 'probability'}, ValueError, 'score must be one of'),
    ({'target': 3}, ValueError, 'target=3 is out of range'),
    ({'target': 'cat'}, ValueError, 'pass target_names='),
    ({'progress': 'yes'}, TypeError, 'progress must be True or False'),
    ({'layer': 'conv'}, TypeError, "unexpected keyword argument\\(s\\) \\['layer'\\]"),
])
def test_bad_arguments_get_named_errors(keywords, error, match) -> None:
    with pytest.raises(error, match=match):
        metrics.deletion(pixel_reader(0, 0), _image(), np.ones((SIDE, SIDE)), **keywords)


@pytest.mark.parametrize('heatmap, match', [
    (np.full((SIDE, SIDE), np.nan), 'NaN or infinite'),
    (np.ones((SIDE + 1, SIDE)), 'larger than the document'),
    (np.ones((6, 2)), 'another aspect ratio'),
    (np.ones(SIDE), 'heatmap is 1-D, so doc must be token ids'),
    (np.ones((2, 2, 2, 2)), 'must be a 2-D \\(image\\) or 1-D'),
    (np.ones((0, 3)), 'heatmap is empty'),
])
def test_bad_maps_get_named_errors(heatmap, match) -> None:
    with pytest.raises(ValueError, match=match):
        metrics.deletion(pixel_reader(0, 0), _image(), heatmap)


def test_bad_documents_and_models_get_named_errors() -> None:
    heatmap = np.ones((SIDE, SIDE))
    with pytest.raises(ValueError, match='doc must hold one document'):
        metrics.deletion(pixel_reader(0, 0), np.ones((2, 3, SIDE, SIDE)), heatmap)
    with pytest.raises(TypeError, match='model must be a PyTorch nn.Module, a Keras model or'):
        metrics.deletion('model', _image(), heatmap)
    with pytest.raises(ValueError, match='the predict callable returned shape'):
        metrics.deletion(lambda batch: np.ones((1, 2, 3)), _image(), heatmap)
    with pytest.raises(ValueError, match='the predict callable failed .* KeyError'):
        metrics.deletion(lambda batch: {}['x'], _image(), heatmap)
    with pytest.raises(ValueError, match="baseline='blur' needs a float document"):
        metrics.insertion(token_counter(1), np.array([[1, 2, 3]]), np.ones(3),
                          baseline='blur')
