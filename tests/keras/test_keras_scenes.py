"""A Keras detector and segmenter trained here on generated scenes: one object among twins.

The Keras twins of tests/pytorch/test_pytorch_scenes.py, on every backend,
with the same checks (tests/scene_checks.py): trained with ``model.fit``
(seeded), they detect and segment new scenes well; a box or region target
about one of two identical squares points at that square with HiResCAM and
LayerCAM, not at its twin; Grad-CAM gives both the same map; the model is
left as it was.
"""
import pytest

keras = pytest.importorskip('keras')

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.demo import keras_scene_models as scene_models  # noqa: E402
from eli5_gradcam.demo.scenes import make_scenes, two_of_a_kind  # noqa: E402
from keras_helpers import assert_same_snapshot, snapshot  # noqa: E402
from scene_checks import (LOCAL_METHODS, assert_both_twins_light,  # noqa: E402
                          assert_each_twin_alone, assert_one_map_for_both_twins,
                          detection_target, region_target, twin_maps)

#: Two of the PyTorch test's four twin scenes: an explanation takes up to half a second
#: on JAX's CPU, and the whole file must stay well under a minute on every backend.
TWIN_SEEDS = range(2)


@pytest.fixture(scope='module')
def trained():
    """The detector and the segmenter, trained once for the file."""
    return {'detector': scene_models.train_detector(),
            'segmenter': scene_models.train_segmenter()}


def _detection_maps(detector, scene, method):
    return twin_maps(scene_models, detector, scene,
                     detection_target(scene_models, detector, scene), method)


def _region_maps(segmenter, scene, method):
    return twin_maps(scene_models, segmenter, scene, region_target(scene), method)


def test_models_detect_and_segment_new_scenes(trained):
    held_out = make_scenes(100, seed=99)
    recall, precision = scene_models.detection_quality(trained['detector'], held_out)
    assert recall >= 0.9 and precision >= 0.9, (recall, precision)
    assert scene_models.segmentation_accuracy(trained['segmenter'], held_out) >= 0.85


@pytest.mark.parametrize('maps, model', [(_detection_maps, 'detector'),
                                         (_region_maps, 'segmenter')])
def test_target_on_one_of_two_squares_points_at_it(maps, model, trained):
    model = trained[model]
    before = snapshot(model)
    for method in LOCAL_METHODS:
        for seed in TWIN_SEEDS:
            scene = two_of_a_kind(seed)
            assert_each_twin_alone(maps(model, scene, method), scene)
    assert_same_snapshot(before, snapshot(model))


@pytest.mark.parametrize('maps, model, lights_both', [(_detection_maps, 'detector', False),
                                                      (_region_maps, 'segmenter', True)])
def test_gradcam_gives_either_square_the_same_map(maps, model, lights_both, trained):
    """The segmenter's shared map lights both squares; the detector's may favour one (its
    6 x 6 features depend on where each square falls between the pooling cells)."""
    model = trained[model]
    for seed in TWIN_SEEDS:
        scene = two_of_a_kind(seed)
        explanations = maps(model, scene, 'gradcam')
        if lights_both:
            assert_both_twins_light(explanations, scene)
        else:
            assert_one_map_for_both_twins(explanations)
