"""Target resolution: targets, top_targets, target_names."""
import numpy as np
import pytest

from eli5_gradcam.nn.targets import check_target_names, resolve_targets, target_labels

SCORES = np.array([[0.1, 0.9, 0.5, -2.0], [3.0, 0.0, 1.0, 2.0]])


def test_default_is_top_prediction_per_document():
    np.testing.assert_array_equal(resolve_targets(SCORES), [[1], [0]])


def test_top_targets_positive_and_negative():
    np.testing.assert_array_equal(resolve_targets(SCORES, top_targets=2), [[1, 2], [0, 3]])
    np.testing.assert_array_equal(resolve_targets(SCORES, top_targets=-1), [[3], [1]])
    assert resolve_targets(SCORES, top_targets=10).shape == (2, 4)


def test_explicit_targets_by_index_and_name():
    names = ['cat', 'dog', 'fox', 'owl']
    np.testing.assert_array_equal(resolve_targets(SCORES, targets=[3, 'dog'],
                                                  target_names=names), [[3, 1], [3, 1]])
    np.testing.assert_array_equal(resolve_targets(SCORES, targets=2), [[2], [2]])
    np.testing.assert_array_equal(
        resolve_targets(SCORES, targets=['owl'], target_names={3: 'owl'}), [[3], [3]])


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(targets=[4]), ValueError, 'out of range'),
    (dict(targets=[-1]), ValueError, 'out of range'),
    (dict(targets=['dog']), ValueError, 'no target_names'),
    (dict(targets=['emu'], target_names=['cat', 'dog', 'fox', 'owl']), ValueError,
     'not in target_names'),
    (dict(targets=[1.5]), TypeError, 'targets must hold'),
    (dict(targets=[True]), TypeError, 'targets must hold'),
    (dict(targets=[]), ValueError, 'targets is empty'),
    (dict(targets={1: 2}), TypeError, 'targets must be'),
    (dict(targets=[1], top_targets=2), ValueError, 'not both'),
    (dict(top_targets=0), ValueError, 'top_targets'),
    (dict(top_targets=1.0), ValueError, 'top_targets'),
    (dict(target_names=['a']), ValueError, 'target_names has 1'),
    (dict(target_names='abcd'), TypeError, 'target_names'),
    (dict(target_names={7: 'x'}), ValueError, 'target_names keys'),
])
def test_bad_targets(kwargs, error, match):
    with pytest.raises(error, match=match):
        resolve_targets(SCORES, **kwargs)


def test_labels():
    assert target_labels([2, 0], ['a', 'b', 'c'], 3) == ['c', 'a']
    assert target_labels([2, 0], {2: 'two'}, 3) == ['two', 0]
    assert target_labels([1], None, 3) == [1]
    assert check_target_names(None, 3) is None
