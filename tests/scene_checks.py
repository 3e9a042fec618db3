"""Checks shared by the scene tests of every framework (tests/pytorch, tests/keras).

Each scene has two identical squares and a disc (``two_of_a_kind``).  A box
target (``BoxScore`` on a detection) or a region target (``RegionScore`` on
an object's mask) about one square must point at that square with HiResCAM
and LayerCAM; channel-averaged Grad-CAM gives the same map for either square
and spreads over both, as docs/beyond_a_class.rst says.

``models`` is a framework's scene module (``eli5_gradcam.demo.scene_models``
or ``eli5_gradcam.demo.keras_scene_models``): its ``scene_batch`` is the
model's input and its ``detect`` reads the detector.  pytest puts this folder
on ``sys.path`` (it holds the root conftest.py), so both suites import it.
"""
import eli5
import numpy as np

from eli5_gradcam.demo.scene_outputs import matching
from eli5_gradcam.demo.scenes import SHAPES
from eli5_gradcam.metrics import energy_pointing_game, pointing_game
from eli5_gradcam.targets import BoxScore, RegionScore

SQUARE = SHAPES.index('square')
#: Scenes the twin tests look at (two squares and a disc each).
TWIN_SEEDS = range(4)
LOCAL_METHODS = ['hirescam', 'layercam']


def box(scene, number):
    return tuple(int(v) for v in scene.boxes[number])


def twin_maps(models, model, scene, make_target, method):
    """The explanation of a target about each square of the scene."""
    return [eli5.explain_prediction(model, models.scene_batch([scene]),
                                    targets=[make_target(number)], layer='features',
                                    method=method, image=scene.picture())
            for number in (0, 1)]


def detection_target(models, detector, scene):
    """``number`` -> a BoxScore on the detection of that square."""
    detections = models.detect(detector, scene)

    def target(number):
        found = matching(detections, scene.boxes[number], SQUARE)
        assert found is not None, f'square {number} is not detected'
        return BoxScore(found.box, SQUARE, layout='dense', image_size=(48, 48))
    return target


def region_target(scene):
    """``number`` -> a RegionScore on that square's mask."""
    return lambda number: RegionScore(SQUARE + 1, scene.masks[number])


def points_at(expl, scene, number):
    """The map peaks on square ``number`` and holds little of its energy on the other."""
    mine, other = (energy_pointing_game(expl, box=box(scene, n)) for n in (number, 1 - number))
    return (pointing_game(expl, mask=scene.masks[number], tolerance=0).hit
            and other < 0.1 and mine > other)


def assert_each_twin_alone(explanations, scene):
    """Each square's map points at it, and fails the same check for the other square."""
    for number, expl in enumerate(explanations):
        assert points_at(expl, scene, number), f'the map of square {number} misses it'
        assert not points_at(expl, scene, 1 - number), 'the check does not tell the twins apart'


def assert_one_map_for_both_twins(explanations):
    """Channel-averaged Grad-CAM: a target about either square gets the same map."""
    first, second = (expl.targets[0].heatmap for expl in explanations)
    np.testing.assert_allclose(first, second, atol=1e-5)


def assert_both_twins_light(explanations, scene):
    """The same map for either square, and it lights both."""
    assert_one_map_for_both_twins(explanations)
    for number in (0, 1):
        assert energy_pointing_game(explanations[0], box=box(scene, number)) > 0.15
