"""Score functions as targets, the ready-made ones, and documents of several inputs."""
import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402
from torch import nn  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.pytorch import capture_batch, explain_batch_pytorch  # noqa: E402
from eli5_gradcam.targets import BoxScore, ClassScore, RegionScore, SimilarityScore  # noqa: E402

torch.set_num_threads(1)


def _two_squares(size=16, first=(2, 2), second=(10, 10), side=4):
    """One grey image with two identical bright squares, and each square's mask."""
    image = torch.zeros(1, 1, size, size)
    masks = []
    for top, left in (first, second):
        image[0, 0, top:top + side, left:left + side] = 1.0
        mask = np.zeros((size, size))
        mask[top:top + side, left:left + side] = 1.0
        masks.append(mask)
    return image, masks


class Segmenter(nn.Module):
    """A fixed-weight fully convolutional segmenter: class 1 = 'bright', class 0 = 'dark'."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv2d(1, 2, 3, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.classify = nn.Conv2d(2, 2, 1)
        with torch.no_grad():
            self.features.weight[0] = 1.0 / 9.0           # local brightness
            self.features.weight[1] = -1.0 / 9.0          # local darkness
            self.classify.weight[:] = torch.tensor([[[[0.0]], [[1.0]]], [[[1.0]], [[0.0]]]])
            self.classify.bias[:] = torch.tensor([0.0, 0.5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.relu(self.features(x)))


def _autograd(model, doc, layer, score):
    """d score / d layer output by plain autograd: (H, W, C)."""
    store = {}
    handle = layer.register_forward_hook(lambda m, a, o: store.__setitem__('out', o))
    try:
        value = score(model(doc))
    finally:
        handle.remove()
    (gradient,) = torch.autograd.grad(value.sum(), store['out'])
    return gradient[0].permute(1, 2, 0).numpy()


def test_region_score_gradient_is_plain_autograd() -> None:
    model, (image, masks) = Segmenter(), _two_squares()
    region = RegionScore(1, masks[0])
    capture = capture_batch(model, image, targets=[region], layer='relu')
    mask = torch.as_tensor(masks[0], dtype=torch.float32)
    reference = _autograd(model, image, model.relu, lambda out: (out[:, 1] * mask).sum((1, 2)))
    np.testing.assert_allclose(capture.gradients[0, 0], reference, rtol=1e-5, atol=1e-7)
    assert capture.function_names == (region.name,)
    mean = capture_batch(model, image, targets=[RegionScore(1, masks[0], reduce='mean')],
                         layer='relu')
    np.testing.assert_allclose(mean.gradients[0, 0] * masks[0].sum(), reference, rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize('method', ['hirescam', 'layercam'])
def test_region_score_on_one_of_two_identical_objects_peaks_on_it(method: str) -> None:
    model, (image, masks) = Segmenter(), _two_squares()
    for mask, other in ((masks[0], masks[1]), (masks[1], masks[0])):
        expl = eli5.explain_prediction(model, image, targets=[RegionScore(1, mask)],
                                       layer='relu', method=method)
        heatmap = expl.targets[0].heatmap
        assert heatmap[mask > 0].mean() > 0.5 and heatmap[other > 0].max() == 0.0
    gradcam = eli5.explain_prediction(model, image, targets=[RegionScore(1, masks[0])],
                                      layer='relu', method='gradcam').targets[0].heatmap
    assert gradcam[masks[1] > 0].mean() > 0.5        # channel-averaged: both squares light


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(4, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x))


IMAGE = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))


def test_class_score_and_functions_mix_with_indices_in_one_pass() -> None:
    model = Classifier()
    expl = eli5.explain_prediction(model, IMAGE, relu=False,
                                   targets=[2, ClassScore(2), lambda out: out[:, 0] - out[:, 1]])
    assert [t.target for t in expl.targets] == [2, 'class 2', 'score function 1']
    np.testing.assert_array_equal(expl.targets[0].heatmap, expl.targets[1].heatmap)
    scores = model(IMAGE)[0]
    assert expl.targets[2].score == pytest.approx(float(scores[0] - scores[1]), rel=1e-5)
    difference = capture_batch(model, IMAGE, targets=[0, 1, lambda out: out[:, 0] - out[:, 1]])
    np.testing.assert_allclose(difference.gradients[0, 2],
                               difference.gradients[0, 0] - difference.gradients[0, 1],
                               rtol=1e-5, atol=1e-7)


def test_similarity_score_is_the_cosine_and_its_gradient() -> None:
    torch.manual_seed(2)
    encoder = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                            nn.Flatten(), nn.Linear(4, 6))
    reference = np.arange(6.0) - 2.5
    similarity = SimilarityScore(reference)
    expl = eli5.explain_prediction(encoder, IMAGE, targets=[similarity], layer='1')
    embedding = encoder(IMAGE)[0].detach().numpy()
    cosine = embedding @ reference / np.linalg.norm(embedding) / np.linalg.norm(reference)
    assert expl.targets[0].score == pytest.approx(cosine, rel=1e-5)
    assert expl.targets[0].target == 'cosine similarity to the reference'
    ref = torch.as_tensor(reference, dtype=torch.float32)
    expected = _autograd(encoder, IMAGE, encoder[1],
                         lambda out: nn.functional.cosine_similarity(out, ref[None], dim=1))
    capture = capture_batch(encoder, IMAGE, targets=[similarity], layer='1')
    np.testing.assert_allclose(capture.gradients[0, 0], expected, rtol=1e-4, atol=1e-7)


class DenseDetector(nn.Module):
    """A fixed single-stage detector: 4 anchors, each (box xyxy, 2 class scores)."""

    BOXES = torch.tensor([[0.0, 0.0, 8.0, 8.0], [8.0, 0.0, 16.0, 8.0],
                          [0.0, 8.0, 8.0, 16.0], [8.0, 8.0, 16.0, 16.0]])

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        torch.manual_seed(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cells = self.pool(torch.relu(self.conv(x))).flatten(2).transpose(1, 2)   # (N, 4, 2)
        boxes = self.BOXES[None].expand(x.shape[0], -1, -1)
        return torch.cat([boxes, cells], dim=2)                                 # (N, 4, 6)


def test_box_score_picks_the_best_overlapping_anchor() -> None:
    model, (image, _) = DenseDetector(), _two_squares()
    box = BoxScore((9, 9, 15, 15), 1, layout='dense', image_size=(16, 16))
    capture = capture_batch(model, image, targets=[box], layer='conv')
    reference = _autograd(model, image, model.conv, lambda out: out[:, 3, 5])
    np.testing.assert_allclose(capture.gradients[0, 0], reference, rtol=1e-5, atol=1e-8)
    assert capture.scores[0, -1] == pytest.approx(float(model(image)[0, 3, 5]))


DENSE = np.array([[[0, 0, 10, 10, 0.0, 0.2],       # the box itself, a low score
                   [1, 1, 10, 10, 0.0, 0.9],       # IoU 0.81, the detection reported
                   [20, 20, 30, 30, 0.0, 5.0],     # elsewhere, the highest score
                   [6, 6, 16, 16, 0.0, 3.0]]])     # IoU 16/184 with the box


@pytest.mark.parametrize('box, min_iou, anchor', [
    ((0, 0, 10, 10), 0.1, 1),          # the best score among the anchors overlapping by 0.1
    ((0, 0, 10, 10), 0.9, 0),          # only the box itself overlaps by 0.9
    ((0, 0, 10, 10), 0.05, 3),         # a loose overlap admits the higher-scoring anchor 3
    ((22, 22, 40, 40), 0.5, 2),        # nothing overlaps by 0.5: the best-overlapping anchor
])
def test_dense_box_score_is_the_detection_reported_for_the_box(box, min_iou, anchor) -> None:
    predictions = torch.tensor(DENSE, requires_grad=True)
    score = BoxScore(box, 1, layout='dense', min_iou=min_iou)(predictions)
    assert float(score[0]) == pytest.approx(DENSE[0, anchor, 5])
    (gradient,) = torch.autograd.grad(score.sum(), predictions)
    expected = np.zeros_like(DENSE)
    expected[0, anchor, 5] = 1.0                  # the choice itself is not differentiated
    np.testing.assert_array_equal(gradient.numpy(), expected)


def test_box_score_on_torchvision_style_lists() -> None:
    class ListDetector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x):
            maps = torch.sigmoid(self.conv(x))
            scores = torch.stack([maps[0, 0, :8, :8].mean(), maps[0, 0, 8:, 8:].mean()])
            return [{'boxes': torch.tensor([[0.0, 0.0, 8.0, 8.0], [8.0, 8.0, 16.0, 16.0]]),
                     'labels': torch.tensor([1, 1]), 'scores': scores}]
    torch.manual_seed(4)
    model, (image, _) = ListDetector(), _two_squares()
    expl = eli5.explain_prediction(model, image, layer='conv', method='hirescam',
                                   targets=[BoxScore((9, 9, 16, 16), 1)])
    heatmap = expl.targets[0].heatmap
    assert heatmap[:8, :8].max() == 0.0 and heatmap[8:, 8:].max() > 0.0


@pytest.mark.parametrize('target, error, match', [
    (lambda out: out, ValueError, r'returned shape \(1, 3\).*shape \(1,\)'),
    (lambda out: out.argmax(dim=1).float(), ValueError, 'not differentiable'),
    (lambda out: 1.0, TypeError, 'returned a float'),
])
def test_bad_score_functions_are_named(target, error, match) -> None:
    model = Classifier()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(error, match=match):
        eli5.explain_prediction(model, IMAGE, targets=[target])
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize('make, match', [
    (lambda: BoxScore((10, 10, 40, 12), 0, image_size=(16, 16)), 'outside the image'),
    (lambda: BoxScore((5, 5, 2, 9), 0), 'x1 < x2'),
    (lambda: BoxScore((0, 0, 4, 4), 0, box_format='yxyx'), 'box_format'),
    (lambda: RegionScore(0, np.zeros((4, 4))), 'mask is empty'),
    (lambda: SimilarityScore(np.zeros(3)), 'non-zero'),
    (lambda: ClassScore(-1), 'non-negative'),
])
def test_bad_ready_made_targets_are_named(make, match) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        make()


class TwoInputs(nn.Module):
    """An image and tabular features, as keyword or positional inputs."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.tabular = nn.Linear(5, 4)
        self.head = nn.Linear(4, 2)

    def forward(self, image: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.conv(image)) + self.tabular(features))


FEATURES = torch.rand(1, 5, generator=torch.Generator().manual_seed(6))


def test_two_inputs_as_mapping_or_tuple_explain_the_image() -> None:
    model = TwoInputs()
    by_key = eli5.explain_prediction(model, {'image': IMAGE, 'features': FEATURES,
                                             'unused': torch.zeros(1, 2)}, input_key='image')
    by_position = eli5.explain_prediction(model, (IMAGE, FEATURES.numpy()))
    assert by_key.layer == by_position.layer == 'pool.0' and by_key.image is not None
    np.testing.assert_allclose(by_key.targets[0].heatmap, by_position.targets[0].heatmap,
                               rtol=1e-6)
    # the same model called directly with both inputs
    store = {}
    handle = model.pool[0].register_forward_hook(lambda m, a, o: store.__setitem__('o', o))
    try:
        out = model(IMAGE, FEATURES)
    finally:
        handle.remove()
    (gradient,) = torch.autograd.grad(out[0, by_key.targets[0].target], store['o'])
    capture = capture_batch(model, (IMAGE, FEATURES), targets=[by_key.targets[0].target])
    np.testing.assert_allclose(capture.gradients[0, 0], gradient[0].permute(1, 2, 0).numpy(),
                               rtol=1e-5, atol=1e-7)


def test_smooth_aug_flips_the_image_and_keeps_the_other_inputs() -> None:
    # reference: the same layers with the features fixed, as a model of the image alone
    model = TwoInputs()
    images = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(8))
    features = FEATURES.repeat(2, 1)

    class ImageAlone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.both = model

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.both(image, features[:len(image)])

    for docs, key, alone_docs in (((images[:1], FEATURES), 0, images[:1]),
                                  ({'image': images, 'features': features}, 'image', images)):
        given = explain_batch_pytorch(model, docs, input_key=key, smooth='aug',
                                      relu=False, top_targets=1)
        reference = explain_batch_pytorch(ImageAlone(), alone_docs, smooth='aug', relu=False,
                                          top_targets=1, layer='both.pool.0')
        for expl, ref in zip(given, reference):
            assert expl.targets[0].target == ref.targets[0].target
            assert np.abs(ref.targets[0].heatmap).max() > 0.5
            np.testing.assert_allclose(expl.targets[0].heatmap, ref.targets[0].heatmap,
                                       rtol=1e-5, atol=1e-6)


def test_metrics_perturb_the_image_and_keep_the_other_inputs() -> None:
    from eli5_gradcam import metrics
    model = TwoInputs()

    class ImageAlone(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.both = model

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            return self.both(image, FEATURES.expand(len(image), -1))

    heatmap = metrics.random_map((8, 8), seed=1)
    images = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(9))
    runs = [
        (lambda m, d: metrics.deletion(m, d, heatmap, target=1, steps=8,
                                       score='output').scores, IMAGE),
        (lambda m, d: metrics.road(m, d, heatmap, target=1, score='output').morf, IMAGE),
        (lambda m, d: metrics.confidence_change(m, d, [heatmap, 1 - heatmap], target=[1, 0],
                                                score='softmax').masked, images),
    ]
    for run, image in runs:
        features = FEATURES.expand(len(image), -1)
        given = run(model, {'image': image, 'features': features})
        np.testing.assert_allclose(given, run(ImageAlone(), image), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(run(model, (image, features)), given, rtol=1e-6)


class TokensAndMask(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(7)
        self.embed = nn.Embedding(20, 6)
        self.conv = nn.Conv1d(6, 4, 3, padding=1)
        self.out = nn.Linear(4, 2)

    def forward(self, input_ids, attention_mask):
        hidden = self.conv(self.embed(input_ids).transpose(1, 2)).relu()
        hidden = hidden * attention_mask[:, None, :]
        return self.out(hidden.sum(2) / attention_mask.sum(1, keepdim=True))


def test_attention_mask_removes_padding_from_text() -> None:
    ids = torch.tensor([[3, 5, 7, 9, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    tokens = ['the', 'film', 'was', 'good', '[PAD]', '[PAD]']
    expl = eli5.explain_prediction(TokensAndMask(), {'input_ids': ids, 'attention_mask': mask},
                                   tokens=tokens, relu=False)
    spans = expl.targets[0].weighted_spans.docs_weighted_spans[0]
    assert spans.document == 'the film was good' and len(spans.spans) == 4
    assert expl.layer == 'conv'


@pytest.mark.parametrize('doc, error, match', [
    ({'image': IMAGE, 'features': [1.0, 2.0]}, TypeError, r"doc\['features'\] must be a torch"),
    ({'image': IMAGE, 'features': torch.rand(2, 5)}, ValueError, 'same batch size'),
    ({'unknown': IMAGE}, ValueError, 'none of its keys'),
])
def test_bad_multi_input_documents(doc, error, match) -> None:
    with pytest.raises(error, match=match):
        eli5.explain_prediction(TwoInputs(), doc)


def test_input_key_must_name_an_input() -> None:
    with pytest.raises(ValueError, match=r"input_key='pixels' is not one of the inputs"):
        eli5.explain_prediction(TwoInputs(), {'image': IMAGE, 'features': FEATURES},
                                input_key='pixels')
