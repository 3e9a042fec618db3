"""The options object, the one driver, whose fault an error is, and frozen backbones."""
import inspect

import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402
from eli5.base import Explanation  # noqa: E402
from torch import nn  # noqa: E402

import eli5_gradcam  # noqa: E402,F401
from eli5_gradcam.nn import ExplainOptions, GradCAMExplanation  # noqa: E402
from eli5_gradcam.pytorch import capture_batch, explain_prediction_pytorch  # noqa: E402

torch.set_num_threads(1)
IMAGE = torch.rand(1, 3, 12, 12, generator=torch.Generator().manual_seed(3))


class FrozenStem(nn.Module):
    """A model that runs its stem under its own ``torch.no_grad()``, as fine-tuning code does."""

    def __init__(self, frozen: bool = True) -> None:
        super().__init__()
        self.frozen = frozen
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(4, 5, 3, padding=1))
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(5, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.frozen:
            with torch.no_grad():
                x = self.stem(x)
        else:
            x = self.stem(x)
        return self.head(x)


def _frozen_stem() -> FrozenStem:
    torch.manual_seed(0)
    return FrozenStem()


def _reference_gradient(model: FrozenStem, layer: nn.Module, target: int) -> np.ndarray:
    """Plain autograd on the same weights without the no_grad block: d score / d layer."""
    store = {}

    def hook(module, args, output):
        store['out'] = output
    handle = layer.register_forward_hook(hook)
    try:
        model.frozen = False
        scores = model(IMAGE)
    finally:
        model.frozen = True
        handle.remove()
    (gradient,) = torch.autograd.grad(scores[0, target], store['out'])
    return gradient[0].permute(1, 2, 0).numpy()


@pytest.mark.parametrize('layer', ['stem.2', 'stem.0'])
def test_layer_under_the_models_own_no_grad_is_explained(layer: str) -> None:
    """'stem.2' ends the no_grad block; 'stem.0' has more of the block after it."""
    model = _frozen_stem()
    capture = capture_batch(model, IMAGE, layer=layer, targets=[1])
    reference = _reference_gradient(model, model.get_submodule(layer), 1)
    assert np.abs(reference).max() > 0
    np.testing.assert_allclose(capture.gradients[0, 0], reference, rtol=1e-5, atol=1e-7)
    expl = explain_prediction_pytorch(model, IMAGE, layer=layer, targets=[1], relu=False)
    assert np.abs(expl.targets[0].heatmap).max() == pytest.approx(1.0)
    again = explain_prediction_pytorch(model, IMAGE, layer=layer, targets=[1], relu=False)
    np.testing.assert_array_equal(again.targets[0].heatmap, expl.targets[0].heatmap)
    assert torch.is_grad_enabled() and model.frozen


def test_a_fault_of_the_library_surfaces_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from eli5_gradcam.pytorch import hooked_pass

    # our hook now fails in its own code ('str' has no attribute 'detach'), inside the
    # model's forward pass: that is a library bug, not the user's doc
    monkeypatch.setattr(hooked_pass, 'first_tensor', lambda output: 'not a tensor')
    model = _frozen_stem()
    with pytest.raises(AttributeError, match='detach'):
        explain_prediction_pytorch(model, IMAGE)
    assert not model.stem[0]._forward_hooks          # hooks removed all the same


class Failing(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.conv(x)
        raise KeyError('a bug in the user model')


def test_a_fault_of_the_model_is_reported_as_about_doc() -> None:
    with pytest.raises(ValueError, match=r"doc: the model failed .*KeyError.*a bug in the user"):
        explain_prediction_pytorch(Failing(), IMAGE)


def test_the_explained_layer_is_data_on_the_explanation() -> None:
    model = _frozen_stem()
    expl = eli5.explain_prediction(model, IMAGE)
    assert isinstance(expl, GradCAMExplanation) and isinstance(expl, Explanation)
    assert expl.layer == 'head.0'                       # the last module with 2-D extent
    again = eli5.explain_prediction(model, IMAGE, layer=expl.layer)
    np.testing.assert_array_equal(again.targets[0].heatmap, expl.targets[0].heatmap)
    assert eli5.format_as_dict(expl)['layer'] == 'head.0'


def test_public_signature_lists_every_option_once() -> None:
    parameters = inspect.signature(explain_prediction_pytorch).parameters
    assert list(parameters)[:4] == ['model', 'doc', 'image', 'tokens']
    assert set(ExplainOptions.names()) <= set(parameters)
    assert parameters['method'].default == 'gradcam'
    assert parameters['relu'].kind is inspect.Parameter.KEYWORD_ONLY


def test_unknown_keyword_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['colour'\].*"
                                        r'targets, top_targets'):
        explain_prediction_pytorch(_frozen_stem(), IMAGE, colour='red')


def test_options_are_validated_before_the_model_runs() -> None:
    model = Failing()                                  # would fail if it ran
    for bad, error in (({'relu': 'yes'}, TypeError), ({'padding': 'middle'}, ValueError),
                       ({'pad_value': 'x'}, TypeError), ({'top_targets': 0}, ValueError),
                       ({'targets': []}, ValueError), ({'output': 1.5}, TypeError)):
        with pytest.raises(error, match=next(iter(bad))):
            explain_prediction_pytorch(model, IMAGE, **bad)
