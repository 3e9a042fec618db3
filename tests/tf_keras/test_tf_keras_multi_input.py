"""tf_keras models of several inputs: a list or a dict, as for Keras 3."""
import numpy as np
import pytest

tf_keras = pytest.importorskip('tf_keras')

import eli5  # noqa: E402
import eli5_gradcam  # noqa: E402,F401

layers = tf_keras.layers
RNG = np.random.default_rng(12)
IMAGE = RNG.random((1, 8, 8, 3)).astype('float32')
FEATURES = RNG.random((1, 5)).astype('float32')


def two_inputs(as_dict):
    conv = layers.Conv2D(4, 3, activation='relu', name='conv')
    pool, tabular = layers.GlobalAveragePooling2D(), layers.Dense(4, name='tabular')
    head = layers.Dense(3, activation='softmax', name='head')
    image = tf_keras.Input((8, 8, 3), name='image')
    features = tf_keras.Input((5,), name='features')
    inputs = {'image': image, 'features': features} if as_dict else [image, features]
    model = tf_keras.Model(inputs, head(layers.Add()([pool(conv(image)), tabular(features)])))
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0.0, 0.5, w.shape).astype('float32')
                       for w in model.get_weights()])
    return model


@pytest.mark.parametrize('as_dict', [False, True])
def test_list_and_dict_documents_agree_with_the_model_gradient(as_dict):
    import tensorflow as tf
    model = two_inputs(as_dict)
    by_name = eli5.explain_prediction(model, {'features': FEATURES, 'image': IMAGE},
                                      targets=[1], relu=False)
    by_order = eli5.explain_prediction(model, [IMAGE, FEATURES], targets=[1], relu=False,
                                       input_key='image')
    np.testing.assert_allclose(by_name.targets[0].heatmap, by_order.targets[0].heatmap,
                               rtol=1e-6)
    # the same map by hand: the conv's output and its gradient from a GradientTape
    probe = tf_keras.Model(model.input, [model.get_layer('conv').output,
                                         model.get_layer('head').input])
    inputs = {'image': IMAGE, 'features': FEATURES} if as_dict else [IMAGE, FEATURES]
    with tf.GradientTape() as tape:
        activations, hidden = probe(inputs)
        logit = tf.matmul(hidden, model.get_layer('head').kernel)[:, 1] + (
            model.get_layer('head').bias[1])
    gradients = tape.gradient(logit, activations)[0].numpy()
    heatmap = (activations[0].numpy() * gradients.mean(axis=(0, 1))).sum(-1)
    heatmap = heatmap / np.abs(heatmap).max()
    np.testing.assert_allclose(by_name.targets[0].heatmap, heatmap, rtol=1e-4, atol=1e-5)


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match=r"\['pixels'\] is not an input of the model"):
        eli5.explain_prediction(two_inputs(False), {'image': IMAGE, 'pixels': FEATURES})
