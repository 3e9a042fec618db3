"""KerasHub backbones (every backend): a ResNet image backbone and a BERT text backbone,
each built from a small config with random weights (nothing is downloaded; the
initializers draw from a seeded numpy RNG, see ``numpy_random_init``), under a Dense
head in a functional model.

The references are independent of eli5_gradcam: the head is linear in the backbone's
last features (image: global average pooling then Dense; text: BERT's ``pooled_dense``
of the first position then Dense), so the gradient of a logit with respect to those
features is written by hand from the weights, and Grad-CAM is its weighted sum of the
features, which a sub-model of the backbone computes.
"""
import numpy as np
import pytest

keras = pytest.importorskip('keras')
keras_hub = pytest.importorskip('keras_hub')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from keras_helpers import assert_same_snapshot, numpy_random_init, snapshot  # noqa: E402

layers = keras.layers

IMAGE = np.random.default_rng(3).random((1, 32, 32, 3)).astype('float32')
IDS = np.array([[2, 11, 7, 19, 5, 0, 0, 0]], dtype='int32')
PADDING_MASK = IDS != 0
TOKENS = ['[CLS]', 'the', 'film', 'was', 'good', '[PAD]', '[PAD]', '[PAD]']
REAL = int(PADDING_MASK.sum())
RTOL = 1e-4


def heatmaps(expl):
    return np.stack([target.heatmap for target in expl.targets])


def normalised(cam):
    """Grad-CAM's relu=False scaling: by the largest magnitude of each map."""
    return cam / np.abs(cam).max(axis=tuple(range(1, cam.ndim)), keepdims=True)


def to_numpy(value):
    return keras.ops.convert_to_numpy(value)


@pytest.fixture(scope='module')
def resnet():
    with numpy_random_init(seed=5):
        backbone = keras_hub.models.ResNetBackbone(
            input_conv_filters=[64], input_conv_kernel_sizes=[3],
            stackwise_num_filters=[64, 8], stackwise_num_blocks=[1, 1],
            stackwise_num_strides=[1, 2], block_type='basic_block', use_pre_activation=False,
            image_shape=(32, 32, 3), name='resnet')
        images = keras.Input((32, 32, 3))
        pooled = layers.GlobalAveragePooling2D(name='pool')(backbone(images))
        return keras.Model(images, layers.Dense(3, name='head')(pooled)), backbone


@pytest.fixture(scope='module')
def bert():
    with numpy_random_init(seed=6):
        backbone = keras_hub.models.BertBackbone(
            vocabulary_size=30, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
            max_sequence_length=len(TOKENS), name='bert')
        outputs = backbone(backbone.input)
        head = layers.Dense(2, name='head')(outputs['pooled_output'])
        return keras.Model(backbone.input, head), backbone


def bert_doc(mask=PADDING_MASK):
    return {'token_ids': IDS, 'segment_ids': np.zeros_like(IDS), 'padding_mask': mask}


def test_resnet_backbone_automatic_layer_matches_hand_gradcam(resnet):
    model, backbone = resnet
    before = snapshot(model)
    expl = eli5.explain_prediction(model, IMAGE, targets=[0, 2], relu=False)
    assert expl.error is None
    assert expl.layer == 'resnet/stack1_block0_out'     # the backbone's last block
    features = to_numpy(backbone(IMAGE, training=False))[0]            # (4, 4, 8)
    kernel = to_numpy(model.get_layer('head').kernel)                  # (8, 3)
    # d logit_c / d features = kernel[:, c] / (4 * 4) at every position (mean pool).
    cams = np.stack([features @ (kernel[:, c] / 16.0) for c in (0, 2)])
    np.testing.assert_allclose(heatmaps(expl), normalised(cams), rtol=RTOL, atol=1e-6)
    explicit = eli5.explain_prediction(model, IMAGE, targets=[0, 2], relu=False,
                                       layer=backbone.get_layer('stack1_block0_out'))
    assert explicit.layer == expl.layer
    np.testing.assert_allclose(heatmaps(explicit), heatmaps(expl), rtol=RTOL, atol=1e-7)
    assert_same_snapshot(before, snapshot(model))


def bert_reference(model, backbone, target):
    """Grad-CAM of ``target`` at the last transformer layer, by hand, over the real tokens."""
    last = backbone.get_layer('transformer_layer_1')
    inner = keras.Model(backbone.input, last.output)
    sequence = to_numpy(inner(bert_doc(), training=False))[0]          # (length, 16)
    pooled_dense, head = backbone.get_layer('pooled_dense'), model.get_layer('head')
    pooled = np.tanh(sequence[0] @ to_numpy(pooled_dense.kernel) + to_numpy(pooled_dense.bias))
    # logit = head(tanh(pooled_dense(sequence[0]))): only the first position has a gradient.
    gradient = to_numpy(pooled_dense.kernel) @ ((1.0 - pooled ** 2)
                                                * to_numpy(head.kernel)[:, target])
    # The Grad-CAM weights are the gradient's mean over positions: a common factor that
    # the scaling removes, so the map is the features' product with the first row's.
    return sequence @ gradient


@pytest.mark.parametrize('mask_dtype', ['bool', 'int32'])
def test_bert_backbone_explains_token_ids_without_padding(bert, mask_dtype):
    model, backbone = bert
    before = snapshot(model)
    doc = bert_doc(PADDING_MASK.astype(mask_dtype))
    expl = eli5.explain_prediction(model, doc, tokens=TOKENS, targets=[0, 1], relu=False)
    assert expl.error is None
    assert expl.layer == 'bert/transformer_layer_1'
    for target in expl.targets:
        spans = target.weighted_spans.docs_weighted_spans[0]
        assert spans.document == ' '.join(TOKENS[:REAL])               # padding dropped
        assert [token for token, *_ in spans.spans] == TOKENS[:REAL]
    cams = np.stack([bert_reference(model, backbone, target)[:REAL] for target in (0, 1)])
    np.testing.assert_allclose(heatmaps(expl), normalised(cams), rtol=RTOL, atol=1e-6)
    assert_same_snapshot(before, snapshot(model))


def test_bert_padding_mask_drops_what_pad_value_drops(bert):
    """``padding_mask`` drops what ``pad_value=0`` drops, and the layer named by its
    path and ``input_key`` given explicitly give the automatic choices' map."""
    model, _ = bert
    by_padding_mask = eli5.explain_prediction(model, bert_doc(), tokens=TOKENS, relu=False)
    by_value = eli5.explain_prediction(model, bert_doc(), tokens=TOKENS, relu=False,
                                       pad_value=0, padding='post', input_key='token_ids',
                                       layer='bert/transformer_layer_1')
    assert by_value.layer == by_padding_mask.layer
    np.testing.assert_allclose(heatmaps(by_padding_mask), heatmaps(by_value), rtol=RTOL,
                               atol=1e-7)
