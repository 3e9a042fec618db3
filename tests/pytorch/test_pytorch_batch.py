"""explain_predictions on PyTorch models: batches equal single explanations."""
import numpy as np
import pytest

torch = pytest.importorskip('torch')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402


def _cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 6, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(6, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4)).eval()


def _docs(count=7):
    return torch.rand(count, 3, 12, 12, generator=torch.Generator().manual_seed(1))


def _assert_same(batch, singles, atol=1e-5):
    assert len(batch) == len(singles)
    for one, other in zip(batch, singles):
        assert [t.target for t in one.targets] == [t.target for t in other.targets]
        for a, b in zip(one.targets, other.targets):
            np.testing.assert_allclose(a.heatmap, b.heatmap, atol=atol)
            assert a.score == pytest.approx(b.score, abs=atol)


@pytest.mark.parametrize('kwargs', [{}, dict(top_targets=2), dict(targets=[3, 1], relu=False)])
def test_batches_equal_single_explanations(kwargs):
    model, docs = _cnn(), _docs()
    batch = list(eli5_gradcam.explain_predictions(model, docs, batch_size=3, progress=False,
                                                  **kwargs))
    singles = [eli5.explain_prediction(model, docs[i:i + 1], **kwargs) for i in range(7)]
    _assert_same(batch, singles)
    assert batch[0].image is not None


def test_one_forward_pass_per_batch_and_containers():
    model, docs = _cnn(), _docs(6)
    calls = []
    handle = model.register_forward_pre_hook(lambda module, args: calls.append(1))
    try:
        reference = list(eli5_gradcam.explain_predictions(model, docs, batch_size=4,
                                                          progress=False, layer='2'))
        first_run = len(calls)                # + one traced pass per new batch shape
        list(eli5_gradcam.explain_predictions(model, docs, batch_size=4, progress=False,
                                              layer='2'))
    finally:
        handle.remove()
    assert first_run == 4
    assert len(calls) - first_run == 2        # 6 docs in batches of 4: two passes
    as_list = list(eli5_gradcam.explain_predictions(model, [d for d in docs], batch_size=4,
                                                    progress=False, layer='2'))
    _assert_same(as_list, reference)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(docs, torch.zeros(6)), batch_size=5)
    from_loader = list(eli5_gradcam.explain_predictions(model, loader, progress=False,
                                                        layer='2'))
    _assert_same(from_loader, reference)
    as_numpy = list(eli5_gradcam.explain_predictions(model, docs.numpy(), progress=False,
                                                     layer='2'))
    _assert_same(as_numpy, reference)


def test_progress_bar_and_text_batches(capsys):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 4),
                                torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(20, 2)).eval()
    ids = torch.randint(1, 10, (3, 5), generator=torch.Generator().manual_seed(2))
    tokens = [[f'w{int(i)}' for i in row] for row in ids]
    results = list(eli5_gradcam.explain_predictions(model, ids, tokens=tokens, batch_size=2,
                                                    relu=False))
    assert 'explaining' in capsys.readouterr().err
    for row, expl in zip(tokens, results):
        single = eli5.explain_prediction(model, ids[tokens.index(row):tokens.index(row) + 1],
                                         tokens=row, relu=False)
        np.testing.assert_allclose(expl.targets[0].heatmap, single.targets[0].heatmap,
                                   atol=1e-5)
        assert expl.targets[0].weighted_spans is not None


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(batch_size=0), ValueError, 'batch_size'),
    (dict(progress='yes'), TypeError, 'progress'),
    (dict(doc=1), TypeError, 'not doc='),
    (dict(tokens=[['a']]), ValueError, 'tokens'),
])
def test_bad_batch_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        list(eli5_gradcam.explain_predictions(_cnn(), _docs(2), **kwargs))


def test_not_a_model_and_not_docs():
    with pytest.raises(TypeError, match='model must be'):
        list(eli5_gradcam.explain_predictions(object(), _docs(2)))
    with pytest.raises(TypeError, match='docs must be'):
        list(eli5_gradcam.explain_predictions(_cnn(), 42))


def test_batch_of_more_than_one_in_explain_prediction_points_to_batch_api():
    with pytest.raises(ValueError, match='explain_predictions'):
        eli5.explain_prediction(_cnn(), _docs(2))
