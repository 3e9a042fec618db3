"""Models built from custom Keras layers, and a Layer used as the model (every backend)."""
import numpy as np
import pytest

keras = pytest.importorskip('keras')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.keras import capture_batch  # noqa: E402
from keras_helpers import seeded_weights  # noqa: E402

layers = keras.layers
DOC = np.random.default_rng(0).random((1, 8, 8, 3)).astype('float32')


class Block(layers.Layer):
    """A conv block written the way keras_hub backbones and hand-written models are."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(filters, 3, padding='same')
        self.norm = layers.BatchNormalization()

    def call(self, x, training=None):
        return keras.ops.relu(self.norm(self.conv(x), training=training))


class AttentionBlock(layers.Layer):
    """A transformer-style block over the 8x8 grid's 64 tokens."""

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.attention = layers.MultiHeadAttention(2, dim // 2)
        self.norm = layers.LayerNormalization()
        self.dense = layers.Dense(dim)

    def call(self, tokens):
        return self.dense(self.norm(tokens + self.attention(tokens, tokens)))


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.stem = Block(4)
        self.inner = Block(6)
        self.mixer = AttentionBlock(6)
        self.pool = layers.GlobalAveragePooling2D()
        self.head = layers.Dense(3)

    def call(self, x):
        grid = self.inner(self.stem(x))
        tokens = self.mixer(keras.ops.reshape(grid, (-1, 64, 6)))
        return self.head(self.pool(keras.ops.reshape(tokens, (-1, 8, 8, 6))))


class LayerNet(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = Block(5)
        self.pool = layers.GlobalAveragePooling2D()
        self.head = layers.Dense(2)

    def call(self, x):
        return self.head(self.pool(self.block(x)))


@pytest.fixture(scope='module')
def net():
    model = Net()
    model(DOC)
    return seeded_weights(model, seed=8)


def test_automatic_choice_looks_inside_custom_blocks(net):
    expl = eli5.explain_prediction(net, DOC)
    assert expl.error is None and expl.layer == net.inner.name
    assert expl.targets[0].heatmap.shape == (8, 8)


def test_inner_layers_by_object_and_by_path(net):
    by_object = eli5.explain_prediction(net, DOC, layer=net.inner.conv, relu=False)
    path = f'{net.inner.name}/{net.inner.conv.name}'
    assert by_object.layer == path
    by_path = eli5.explain_prediction(net, DOC, layer=path, relu=False)
    np.testing.assert_array_equal(by_object.targets[0].heatmap, by_path.targets[0].heatmap)
    deep = capture_batch(net, DOC, layer=net.mixer.attention, targets=[0])
    assert deep.gradients.shape[2:] == (64, 6)           # tokens of the attention block


def test_inner_layer_gradient_is_plain_autograd(net):
    """The score is linear in the head's pool of the mixer: its gradient by hand."""
    capture = capture_batch(net, DOC, layer=net.mixer.dense, targets=[1])
    kernel = keras.ops.convert_to_numpy(net.head.kernel)[:, 1]
    expected = np.broadcast_to(kernel / 64.0, (64, 6))   # d/d tokens of mean-pool + dense
    np.testing.assert_allclose(capture.gradients[0, 0], expected, rtol=1e-5, atol=1e-7)


def test_a_layer_used_as_the_model_is_explained():
    model = LayerNet()
    model(DOC)
    seeded_weights(model, seed=9)
    expl = eli5.explain_prediction(model, DOC)
    assert expl.error is None and expl.layer == model.block.name
    inner = eli5.explain_prediction(model, DOC, layer=model.block.conv)
    assert inner.layer == f'{model.block.name}/{model.block.conv.name}'
