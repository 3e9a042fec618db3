"""Automatic layer choice on keras.applications architectures (random weights)."""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

from eli5_gradcam.keras import capture_batch  # noqa: E402

# (constructor, input side, the layer the automatic choice must find)
ARCHITECTURES = {
    'ResNet50': (64, 'conv5_block3_out'),
    'MobileNetV2': (64, 'out_relu'),
    'EfficientNetB0': (64, 'top_activation'),
    'VGG16': (64, 'block5_pool'),
    'Xception': (71, 'block14_sepconv2_act'),
    'DenseNet121': (64, 'relu'),
    'ConvNeXtTiny': (64, None),
}


@pytest.mark.parametrize('name', sorted(ARCHITECTURES))
def test_automatic_layer_in_nested_base(name, backend):
    if backend != 'tensorflow':
        pytest.skip('architecture sweep runs on the TensorFlow backend only (CPU time)')
    side, expected = ARCHITECTURES[name]
    base = getattr(keras.applications, name)(weights=None, include_top=False,
                                             input_shape=(side, side, 3))
    inputs = keras.Input((side, side, 3))
    outputs = keras.layers.Dense(3, activation='softmax')(
        keras.layers.GlobalAveragePooling2D()(base(inputs)))
    model = keras.Model(inputs, outputs)
    doc = np.random.default_rng(0).random((1, side, side, 3)).astype('float32')
    capture = capture_batch(model, doc)
    assert capture.layer_name.startswith(base.name + '/')
    if expected is not None:
        assert capture.layer_name == f'{base.name}/{expected}'
    assert capture.activations.ndim == 4 and min(capture.spatial_shape) >= 2 or \
        np.prod(capture.spatial_shape) > 1
    assert capture.gradients.shape == (1, 1) + capture.activations.shape[1:]
    assert capture.score_name == 'pre-softmax logit'
