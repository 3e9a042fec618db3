"""score='auto' explains the logit of a final softmax or sigmoid, as for PyTorch."""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402,F401


def _twins(activation, units, separate):
    """The same weights with the activation applied (inside Dense or after) and without."""
    keras.utils.set_random_seed(3)

    def build(final):
        inputs = keras.Input((12, 2))
        x = keras.layers.Conv1D(4, 3, padding='same', activation='relu', name='conv')(inputs)
        x = keras.layers.GlobalAveragePooling1D()(x)
        if separate:
            x = keras.layers.Dense(units, name='head')(x)
            if final:
                x = keras.layers.Activation(activation)(x)
        else:
            x = keras.layers.Dense(units, activation=activation if final else None,
                                   name='head')(x)
        return keras.Model(inputs, x)
    with_activation, logits = build(True), build(False)
    logits.set_weights(with_activation.get_weights())
    return with_activation, logits


@pytest.mark.parametrize('activation, units', [('sigmoid', 1), ('softmax', 3)])
@pytest.mark.parametrize('separate', [False, True])
def test_auto_score_is_the_logit(activation, units, separate):
    model, logits = _twins(activation, units, separate)
    doc = np.random.default_rng(0).normal(size=(1, 12, 2)).astype('float32')
    auto = eli5.explain_prediction(model, doc, relu=False, targets=[0])
    raw = eli5.explain_prediction(logits, doc, relu=False, targets=[0])
    np.testing.assert_allclose(auto.targets[0].heatmap, raw.targets[0].heatmap, atol=1e-5)
    assert f'pre-{activation} logit' in auto.description
    assert auto.targets[0].proba is not None and not auto.is_regression
    output = eli5.explain_prediction(model, doc, relu=False, targets=[0], score='output')
    assert 'model output' in output.description
