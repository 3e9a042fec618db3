"""A PyTorch detector and segmenter trained here on generated scenes: one object among twins.

The checks (tests/scene_checks.py) are shared with tests/keras/test_keras_scenes.py.
"""
import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.demo import scene_models  # noqa: E402
from eli5_gradcam.demo.scenes import SHAPES, make_scenes, two_of_a_kind  # noqa: E402
from eli5_gradcam.targets import BoxScore, box_iou  # noqa: E402
from scene_checks import (LOCAL_METHODS, SQUARE, TWIN_SEEDS,  # noqa: E402
                          assert_both_twins_light, assert_each_twin_alone, detection_target,
                          region_target, twin_maps)


@pytest.fixture(scope='module')
def detector():
    return scene_models.train_detector()


@pytest.fixture(scope='module')
def segmenter():
    return scene_models.train_segmenter()


@pytest.fixture(scope='module')
def held_out():
    return make_scenes(100, seed=99)


def test_detector_detects(detector, held_out):
    recall, precision = scene_models.detection_quality(detector, held_out)
    assert recall >= 0.9 and precision >= 0.9, (recall, precision)


def test_segmenter_segments(segmenter, held_out):
    assert scene_models.segmentation_accuracy(segmenter, held_out) >= 0.9


@pytest.mark.parametrize('method', LOCAL_METHODS)
def test_box_target_on_one_of_two_squares_points_at_it(detector, method):
    for seed in TWIN_SEEDS:
        scene = two_of_a_kind(seed)
        target = detection_target(scene_models, detector, scene)
        assert_each_twin_alone(twin_maps(scene_models, detector, scene, target, method), scene)


@pytest.mark.parametrize('method', LOCAL_METHODS)
def test_region_target_on_one_of_two_squares_points_at_it(segmenter, method):
    for seed in TWIN_SEEDS:
        scene = two_of_a_kind(seed)
        assert_each_twin_alone(
            twin_maps(scene_models, segmenter, scene, region_target(scene), method), scene)


def test_gradcam_lights_both_squares_for_a_box(detector):
    for seed in TWIN_SEEDS:
        scene = two_of_a_kind(seed)
        target = detection_target(scene_models, detector, scene)
        assert_both_twins_light(twin_maps(scene_models, detector, scene, target, 'gradcam'),
                                scene)


def test_gradcam_lights_both_squares_for_a_region(segmenter):
    for seed in TWIN_SEEDS:
        scene = two_of_a_kind(seed)
        assert_both_twins_light(
            twin_maps(scene_models, segmenter, scene, region_target(scene), 'gradcam'), scene)


def test_scenes_are_seeded_and_truthful():
    first, again = make_scenes(3, seed=5), make_scenes(3, seed=5)
    for scene, same in zip(first, again):
        np.testing.assert_array_equal(scene.image, same.image)
        assert 2 <= len(scene.labels) <= 3
        for box, mask in zip(scene.boxes.astype(int), scene.masks):
            rows, cols = np.nonzero(mask)
            assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == tuple(box)
        assert not (scene.masks.sum(0) > 1).any()                   # no overlap
    twins = two_of_a_kind(0)
    assert list(twins.labels) == [SQUARE, SQUARE, SHAPES.index('disc')]
    assert twins.masks[0].sum() == twins.masks[1].sum()


def test_a_true_box_explains_the_detection_the_model_reports(detector):
    """Anchors next to an object regress onto it too while scoring it low; the dense
    BoxScore explains the best-scoring anchor among those overlapping the box (by
    min_iou), not merely the best-overlapping one, so the object's true box works."""
    scene = two_of_a_kind(0)
    found = scene_models.matching(scene_models.detect(detector, scene), scene.boxes[1], SQUARE)
    assert found is not None and found.logit > 0                   # square 1 is detected
    batch = scene_models.scene_batch([scene])
    with torch.no_grad():
        output = detector(batch)[0].numpy()                         # (anchors, 4 + classes)
    overlaps = box_iou(output[:, :4], scene.boxes[1])
    logits = output[:, 4 + SQUARE]
    assert logits[np.argmax(overlaps)] < 0           # the best-overlapping anchor scores low
    expected = logits[overlaps >= 0.1].max()
    truth = BoxScore(tuple(scene.boxes[1]), SQUARE, layout='dense')
    expl = eli5.explain_prediction(detector, batch, targets=[truth], layer='features',
                                   method='hirescam')
    assert expl.targets[0].score == pytest.approx(float(expected), rel=1e-5)
    assert expected >= found.logit - 1e-5 and expl.targets[0].heatmap.max() == 1.0
