"""Score-CAM, Ablation-CAM and the gradient-free Eigen-CAM pass on PyTorch models.

Hand-computed values on a fixed-weight model; Ablation-CAM against a brute-force
reference (one forward pass per zeroed channel, written here) on architectures
whose layers above the explained one do, or do not, take a batch of ablated
copies; the model left as it was; named errors.

The golden model: a 1x1 convolution gives ``A0 = x`` and ``A1 = 1/2 - x``,
average pooling, a linear layer ``W = [[2, 1], [-1, 3]]``, on the 2x2 image
``x = [[0, 1], [2, 3]]``::

    scores: p = (mean x, 1/2 - mean x) = (3/2, -1);  y = W p = (2, -9/2)

    Score-CAM, the layer at the input's resolution (masks = min-max of A_k):
      H0 = x / 3 = [[0, 1/3], [2/3, 1]]     x H0 = [[0, 1/3], [4/3, 3]], mean 7/6
      H1 = (A1 + 5/2) / 3 = [[1, 2/3], [1/3, 0]]   x H1 = [[0, 2/3], [2/3, 0]], mean 1/3
      y(x H0) = W (7/6, -2/3) = (5/3, -19/6);  y(x H1) = W (1/3, 1/6) = (5/6, 1/6)
      target 0: w = softmax(5/3, 5/6), map = w0 A0 + w1 A1
    Ablation-CAM:
      A0 zeroed: p = (0, -1), y = (-1, -3);  A1 zeroed: p = (3/2, 0), y = (3, -3/2)
      target 0: drops (2 + 1, 2 - 3) = (3, -1), map = 3 x - (1/2 - x) = 4 x - 1/2
                = [[-1/2, 7/2], [15/2, 23/2]] -> relu, / max: [[0, 7/23], [15/23, 1]]
      target 1: drops (-9/2 + 3, -9/2 + 3/2) = (-3/2, -3), map = 3/2 x - 3/2
                -> relu, / max: [[0, 0], [1/2, 1]]
    Eigen-CAM: rows (x_i, 1/2 - x_i) centred = (x_i - 3/2) (1, -1): projection
      +-(x - 3/2) sqrt 2; the row sums are all 1/2 (no correlation), so the
      first position of largest |p| (position 0) is made positive:
      p = (3/2 - x) sqrt 2 -> relu, / max: [[1, 1/3], [0, 0]]
"""
from __future__ import annotations

from typing import Any, Callable, List

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402
from torch import nn  # noqa: E402

import eli5_gradcam  # noqa: E402
from eli5_gradcam.pytorch import capture_batch, explain_prediction_pytorch  # noqa: E402
from torch_architectures import ResNetStyle, SmallViT, TextCNN, TextLSTM, seeded  # noqa: E402

X = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
A0, A1 = X.astype(np.float64), 0.5 - X.astype(np.float64)


def golden_model() -> nn.Module:
    conv = nn.Conv2d(1, 2, 1)
    linear = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
        conv.bias.copy_(torch.tensor([0.0, 0.5]))
        linear.weight.copy_(torch.tensor([[2.0, 1.0], [-1.0, 3.0]]))
    return nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), linear).eval()


def _heatmaps(model: nn.Module, doc: Any, **options: Any) -> List[np.ndarray]:
    expl = explain_prediction_pytorch(model, doc, progress=False, **options)
    assert expl.error is None, expl.error
    return [np.asarray(target.heatmap) for target in expl.targets]


def _scaled(values: np.ndarray) -> np.ndarray:
    values = np.maximum(values, 0.0)
    return values / values.max()


def test_scorecam_by_hand() -> None:
    maps = _heatmaps(golden_model(), X[None, None], method='scorecam', layer='0',
                     targets=[0, 1])
    masked = {0: (5 / 3, -19 / 6), 1: (5 / 6, 1 / 6)}        # y(x H_k) per channel k
    for target, heatmap in enumerate(maps):
        scores = np.array([masked[0][target], masked[1][target]])
        weights = np.exp(scores) / np.exp(scores).sum()
        np.testing.assert_allclose(heatmap, _scaled(weights[0] * A0 + weights[1] * A1),
                                   rtol=1e-6)


def test_ablationcam_by_hand() -> None:
    model = golden_model()
    maps = _heatmaps(model, X[None, None], method='ablationcam', layer='0', targets=[0, 1])
    np.testing.assert_allclose(maps[0], [[0, 7 / 23], [15 / 23, 1]], rtol=1e-6)
    np.testing.assert_allclose(maps[1], [[0, 0], [0.5, 1]], rtol=1e-6)
    signed = _heatmaps(model, X[None, None], method='ablationcam', layer='0', targets=[0],
                       relu=False)
    np.testing.assert_allclose(signed[0], np.array([[-0.5, 3.5], [7.5, 11.5]]) / 11.5,
                               rtol=1e-6)
    capture = capture_batch(model, X[None, None], method='ablationcam', layer='0',
                            targets=[0, 1], progress=False)
    assert capture.gradients is None
    np.testing.assert_allclose(capture.scores, [[2.0, -4.5]], rtol=1e-6)
    np.testing.assert_allclose(capture.channel_scores, [[[-1.0, 3.0], [-3.0, -1.5]]],
                               rtol=1e-6)


def test_eigencam_by_hand() -> None:
    maps = _heatmaps(golden_model(), X[None, None], method='eigencam', layer='0',
                     targets=[0, 1])
    for heatmap in maps:
        np.testing.assert_allclose(heatmap, [[1.0, 1 / 3], [0.0, 0.0]], atol=1e-6)


class NoGradients(nn.Module):
    """Its layers above the convolution run under the model's own ``no_grad``:
    no gradient reaches the layer, but a forward pass still explains it."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = golden_model()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.inner[0](x)
        with torch.no_grad():
            return self.inner[1:](features)


@pytest.mark.parametrize('method', ['eigencam', 'scorecam', 'ablationcam'])
def test_gradient_free_methods_run_no_backward_pass(method: str) -> None:
    expected = _heatmaps(golden_model(), X[None, None], method=method, layer='0')
    maps = _heatmaps(NoGradients(), X[None, None], method=method, layer='inner.0')
    np.testing.assert_allclose(maps[0], expected[0], rtol=1e-6)
    with pytest.raises(ValueError, match='the explained output does not depend on it'):
        explain_prediction_pytorch(NoGradients(), X[None, None], method='gradcam',
                                   layer='inner.0')


# ---------------------------------------------------------------- Ablation-CAM, references

def brute_force_ablation(model: nn.Module, layer: str, doc: torch.Tensor, targets: List[int],
                         channel_axis: int = 1) -> np.ndarray:
    """``(targets, channels)`` scores, one forward pass per zeroed channel."""
    module = model.get_submodule(layer)
    rows = []
    with torch.no_grad():
        def zero(channel: int) -> Callable[..., Any]:
            def hook(m: nn.Module, args: Any, output: Any) -> Any:
                tensor = output[0] if isinstance(output, tuple) else output
                tensor = tensor.clone()
                tensor.select(channel_axis, channel).zero_()
                return (tensor,) + tuple(output[1:]) if isinstance(output, tuple) else tensor
            return hook
        store = {}

        def record(m: nn.Module, args: Any, output: Any) -> None:
            store['width'] = (output[0] if isinstance(output, tuple) else output).shape[
                channel_axis]
        handle = module.register_forward_hook(record)
        model(doc)
        handle.remove()
        for channel in range(store['width']):
            handle = module.register_forward_hook(zero(channel))
            try:
                rows.append(model(doc)[0, targets].numpy())
            finally:
                handle.remove()
    return np.stack(rows, axis=1)


IMAGE = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(5))


class ConcatSkip(nn.Module):
    """A tensor from below the layer is concatenated with one from above it: the
    layers above cannot take a batch of ablated copies while the rest has one."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(10, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stem = self.stem(x)
        joined = torch.cat([stem, self.body(stem)], dim=1)
        return self.head(joined.mean(dim=(2, 3)))


class OneAtATime(nn.Module):
    """Takes one document at a time, like a model with a fixed batch of 1."""

    def __init__(self) -> None:
        super().__init__()
        self.net = ResNetStyle()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != 1:
            raise ValueError('one document at a time')
        return self.net(x)


class MixesRows(nn.Module):
    """Its layers above ``conv`` mix the rows of a batch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.conv(x).mean(dim=(2, 3))
        return self.head(features - 0.5 * features.mean(dim=0, keepdim=True))


@pytest.mark.parametrize('factory, layer', [
    (ResNetStyle, 'layer2.0.conv2'),        # inside a block: the identity has batch 1
    (ResNetStyle, 'layer1'),
    (ConcatSkip, 'body.1'),                 # only whole re-runs work
    (OneAtATime, 'net.layer1.1.bn3'),       # only re-running the layers above works
])
def test_ablationcam_matches_brute_force(factory: Any, layer: str, untouched: Any) -> None:
    model = seeded(factory)
    targets = [0, 2]
    with untouched(model):
        capture = capture_batch(model, IMAGE, method='ablationcam', layer=layer,
                                targets=targets, batch_size=5, progress=False)
    reference = brute_force_ablation(model, layer, IMAGE, targets)
    np.testing.assert_allclose(capture.channel_scores[0], reference, rtol=1e-5, atol=1e-5)


def test_ablationcam_on_vit_tokens_and_lstm_outputs() -> None:
    vit = seeded(SmallViT)
    capture = capture_batch(vit, IMAGE, method='ablationcam', layer='blocks.1.norm1',
                            targets=[1], progress=False)
    np.testing.assert_allclose(capture.channel_scores[0],
                               brute_force_ablation(vit, 'blocks.1.norm1', IMAGE, [1],
                                                    channel_axis=2), rtol=1e-5, atol=1e-5)
    lstm = seeded(TextLSTM)
    ids = torch.tensor([[1, 5, 7, 2, 9]])
    capture = capture_batch(lstm, ids, tokens=[list('abcde')], method='ablationcam',
                            layer='lstm', targets=[0, 2], progress=False)
    np.testing.assert_allclose(capture.channel_scores[0],
                               brute_force_ablation(lstm, 'lstm', ids, [0, 2], channel_axis=2),
                               rtol=1e-5, atol=1e-5)


def test_ablationcam_that_cannot_run_names_the_layer(untouched: Any) -> None:
    model = seeded(MixesRows)
    with untouched(model):
        with pytest.raises(ValueError, match=r"method='ablationcam': layer 'conv' cannot be "
                                             r're-run with its channels zeroed'):
            explain_prediction_pytorch(model, IMAGE, method='ablationcam', progress=False)


def test_ablationcam_with_reshape_is_refused_by_name() -> None:
    model = seeded(SmallViT)
    with pytest.raises(ValueError, match="method='ablationcam' zeroes channels of layer "
                                         "'blocks.1.norm1'.*reshape="):
        explain_prediction_pytorch(model, IMAGE, method='ablationcam', layer='blocks.1.norm1',
                                   reshape=lambda t: t[:, 1:].reshape(t.shape[0], 4, 4, -1),
                                   progress=False)


# ---------------------------------------------------------------- Score-CAM, any input kind

def test_scorecam_on_a_signal_matches_a_loop() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(2, 4, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
                          nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(3, 2)).eval()
    signal = torch.rand(1, 2, 20, generator=torch.Generator().manual_seed(1))
    capture = capture_batch(model, signal, method='scorecam', layer='4', targets=[1],
                            batch_size=2, progress=False)
    store = {}
    handle = model[4].register_forward_hook(lambda m, a, o: store.setdefault('a', o))
    with torch.no_grad():
        model(signal)
        handle.remove()
        expected = []
        for channel in range(3):
            upsampled = nn.functional.interpolate(store['a'][:, channel:channel + 1], size=20,
                                                  mode='linear', align_corners=False)
            low, high = upsampled.min(), upsampled.max()
            # a constant map (a dead channel) masks everything out
            mask = (upsampled - low) / (high - low) if high > low else torch.zeros_like(upsampled)
            expected.append(float(model(signal * mask)[0, 1]))
    np.testing.assert_allclose(capture.channel_scores[0, 0], expected, rtol=1e-5)


def test_scorecam_refuses_token_ids_by_name() -> None:
    with pytest.raises(ValueError, match=r"method='scorecam' multiplies the document by masks"
                                         r".*torch.int64"):
        explain_prediction_pytorch(seeded(TextCNN), torch.tensor([[1, 2, 3, 4]]),
                                   tokens=list('abcd'), method='scorecam', progress=False)


def test_ablationcam_on_text_highlights_tokens() -> None:
    expl = explain_prediction_pytorch(seeded(TextCNN), torch.tensor([[1, 2, 3, 4, 5, 6]]),
                                      tokens=list('abcdef'), method='ablationcam',
                                      targets=[0], relu=False, progress=False)
    spans = expl.targets[0].weighted_spans.docs_weighted_spans[0].spans
    assert len(spans) == 6 and max(abs(w) for _, _, w in spans) == pytest.approx(1.0)


@pytest.mark.parametrize('method', ['scorecam', 'ablationcam', 'eigencam'])
def test_batches_give_the_single_document_maps(method: str) -> None:
    model = seeded(ResNetStyle)
    docs = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(7))
    batch = list(eli5_gradcam.explain_predictions(model, docs, batch_size=2, progress=False,
                                                  method=method, top_targets=2))
    for index, expl in enumerate(batch):
        single = eli5.explain_prediction(model, docs[index:index + 1], method=method,
                                         top_targets=2, progress=False)
        for ours, theirs in zip(expl.targets, single.targets):
            assert ours.target == theirs.target
            np.testing.assert_allclose(ours.heatmap, theirs.heatmap, atol=1e-5)


@pytest.mark.parametrize('method', ['scorecam', 'ablationcam', 'eigencam'])
def test_model_left_as_it_was(method: str, untouched: Any) -> None:
    model = seeded(ResNetStyle).train()
    next(model.parameters()).requires_grad_(False)
    with untouched(model):
        expl = explain_prediction_pytorch(model, IMAGE, method=method, top_targets=2,
                                          batch_size=7, progress=False)
    assert expl.layer == 'layer2.0' and len(expl.targets) == 2


def test_faster_scorecam_keeps_the_strongest_maps() -> None:
    model = seeded(ResNetStyle)
    full = capture_batch(model, IMAGE, method='scorecam', targets=[1], progress=False)
    fast = capture_batch(model, IMAGE, method='scorecam', targets=[1], scorecam_maps=6,
                         progress=False)
    evaluated = ~np.isnan(fast.channel_scores[0, 0])
    assert evaluated.sum() == 6
    np.testing.assert_allclose(fast.channel_scores[0, 0, evaluated],
                               full.channel_scores[0, 0, evaluated], rtol=1e-5)


def test_batch_size_is_checked_by_name() -> None:
    with pytest.raises(ValueError, match='batch_size must be a positive int'):
        explain_prediction_pytorch(golden_model(), X[None, None], method='scorecam',
                                   batch_size=0)
