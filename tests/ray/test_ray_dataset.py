"""explain_dataset on a real local Ray instance, with a PyTorch model.

The same rows as sequential explain_predictions; bad documents become error
rows; a killed worker is replaced and no row is lost or doubled; Parquet
round trip and rendering.
"""
import re
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray
from PIL import Image

import eli5_gradcam
import ray_models
from eli5_gradcam.cli.inputs import image_to_array
from eli5_gradcam.ray import explain_dataset, read_explanations, render_sample

pytestmark = pytest.mark.usefixtures('ray_local')

DOCS = np.random.default_rng(0).normal(size=(64, 3, 16, 16)).astype(np.float32)


def by_document_and_target(rows, id_column='id'):
    return {(row[id_column], row['target']): row for row in rows}


@pytest.fixture(scope='module')
def explained(ray_local):
    """The 64 documents explained by 2 workers (top 2 targets, named), materialized once."""
    dataset = ray.data.from_items([{'id': i, 'doc': DOCS[i]} for i in range(64)])
    out = explain_dataset(dataset, ray_models.torch_cnn, num_workers=2, batch_size=16,
                          top_targets=2, target_names=['cat', 'dog', 'fox'])
    return out.materialize()


def test_rows_equal_sequential_explain_predictions(explained):
    rows = by_document_and_target(explained.take_all())
    reference = list(eli5_gradcam.explain_predictions(
        ray_models.torch_cnn(), DOCS, batch_size=32, progress=False, top_targets=2,
        target_names=['cat', 'dog', 'fox']))
    assert len(rows) == 64 * 2
    names = ['cat', 'dog', 'fox']
    for number, expl in enumerate(reference):
        for target in expl.targets:
            row = rows[(number, names.index(target.target))]
            heatmap = np.asarray(row['heatmap'], dtype=np.float32).reshape(row['heatmap_shape'])
            assert heatmap.shape == target.heatmap.shape == (16, 16)
            np.testing.assert_allclose(heatmap, target.heatmap, rtol=0, atol=1e-6)
            assert row['target_name'] == target.target
            assert row['score'] == pytest.approx(target.score, rel=1e-5, abs=1e-6)
            assert row['proba'] is None
            assert (row['layer'], row['method'], row['error']) == (expl.layer, 'gradcam', None)


def test_parquet_round_trip_and_schema(explained, tmp_path):
    explained.write_parquet(str(tmp_path / 'out.parquet'))
    table = pq.read_table(tmp_path / 'out.parquet')
    assert table.schema.names == ['id', 'target', 'target_name', 'score', 'proba', 'heatmap',
                                  'heatmap_shape', 'layer', 'method', 'error']
    heatmap_type = table.schema.field('heatmap').type
    assert pa.types.is_list(heatmap_type) and heatmap_type.value_type == pa.float32()
    frame = read_explanations(tmp_path / 'out.parquet')
    rows = by_document_and_target(explained.take_all())
    assert len(frame) == 128
    for record in frame.itertuples():
        expected = rows[(record.id, record.target)]
        assert record.heatmap.dtype == np.float32 and record.heatmap.shape == (16, 16)
        np.testing.assert_array_equal(record.heatmap.ravel(), np.float32(expected['heatmap']))
        assert record.score == expected['score'] and record.target_name in ('cat', 'dog', 'fox')
    plain = pd.read_parquet(tmp_path / 'out.parquet')        # pandas alone: flat + shape
    first = plain.iloc[0]
    assert first.heatmap.reshape(first.heatmap_shape).shape == (16, 16)


def test_render_sample_draws_rows_over_their_pictures(explained, tmp_path):
    frame = read_explanations(explained.to_pandas())
    pictures = {i: Image.fromarray(np.full((200, 200, 3), 40 + i, np.uint8)) for i in range(64)}
    report = render_sample(frame, tmp_path, sample=3, seed=1, images=pictures.__getitem__)
    pngs = sorted(tmp_path.glob('doc_*.png'))
    assert len(pngs) == 3
    html = report.read_text()
    assert html.count('data:image/png;base64,') == 3
    assert any(f'{name} (' in html for name in ('cat', 'dog', 'fox'))
    with Image.open(pngs[0]) as drawn:
        drawn = np.asarray(drawn.convert('RGB'))
    assert drawn.shape[1] == 2 * 200 and drawn.shape[0] > 200  # a grid of 2 captioned overlays
    grey = {int(value) for value in np.unique(drawn)}
    assert len(grey) > 10                                      # coloured by the heatmap


def images_with_three_bad():
    """64 PNGs of 16 x 16: #5 undecodable, #20 the wrong size, #40 all black."""
    rng = np.random.default_rng(3)
    pixels = [rng.integers(1, 256, (16, 16, 3), dtype=np.uint8) for _ in range(64)]
    pixels[40] = np.zeros((16, 16, 3), np.uint8)
    encoded = [ray_models.png_bytes(p) for p in pixels]
    encoded[5] = b'not an image'
    encoded[20] = ray_models.png_bytes(rng.integers(1, 256, (12, 20, 3), dtype=np.uint8))
    return pixels, encoded


def test_bad_documents_give_error_rows_and_the_others_are_explained():
    pixels, encoded = images_with_three_bad()
    dataset = ray.data.from_items([{'key': f'img{i:02d}', 'png': b} for i, b in enumerate(encoded)])
    rows = explain_dataset(dataset, ray_models.picky_cnn, column='png', id_column='key',
                           num_workers=2, batch_size=8, preprocess='unit').take_all()
    assert sorted(row['key'] for row in rows) == [f'img{i:02d}' for i in range(64)]
    errors = {row['key']: row['error'] for row in rows if row['error'] is not None}
    assert sorted(errors) == ['img05', 'img20', 'img40']
    assert errors['img05'].startswith('ValueError: doc: cannot decode an image from 12 bytes')
    assert 'model failed on a doc of shape (1, 3, 12, 20)' in errors['img20']
    assert 'RuntimeError: blank image' in errors['img40']
    for row in rows:
        if row['error'] is not None:
            assert all(row[name] is None for name in ('target', 'score', 'heatmap', 'layer'))
    good = [i for i in range(64) if i not in (5, 20, 40)]
    docs = np.stack([image_to_array(Image.fromarray(pixels[i]), preprocess='unit',
                                    channels_first=True) for i in good])
    reference = eli5_gradcam.explain_predictions(ray_models.picky_cnn(), docs, progress=False)
    rows_by_key = {row['key']: row for row in rows}
    for i, expl in zip(good, reference):
        row = rows_by_key[f'img{i:02d}']
        np.testing.assert_allclose(np.reshape(row['heatmap'], row['heatmap_shape']),
                                   expl.targets[0].heatmap, atol=1e-6)


def test_on_error_raise_stops_the_job():
    _, encoded = images_with_three_bad()
    dataset = ray.data.from_items([{'id': i, 'doc': b} for i, b in enumerate(encoded[:8])])
    with pytest.raises(Exception, match='cannot decode an image from 12 bytes'):
        explain_dataset(dataset, ray_models.picky_cnn, num_workers=1, batch_size=8,
                        preprocess='unit', on_error='raise').materialize()


def test_a_killed_worker_is_replaced_and_every_row_comes_once():
    registry = ray_models.Registry.options(name=ray_models.REGISTRY).remote()
    dataset = ray.data.from_items([{'id': i, 'doc': DOCS[i]} for i in range(64)],
                                  override_num_blocks=16)
    out = explain_dataset(dataset, ray_models.slow_registered_cnn, num_workers=2, batch_size=4)
    rows = iter(out.iter_rows())
    seen = [next(rows)['id']]
    handles = ray.get(registry.all.remote())
    ray.kill(handles[0], no_restart=False)
    seen.extend(row['id'] for row in rows)
    assert sorted(seen) == list(range(64))
    assert len(ray.get(registry.all.remote())) >= len(handles) + 1     # built again after the kill
    ray.kill(registry)


@pytest.mark.parametrize('kwargs, error, message', [
    (dict(model_factory=42), TypeError, 'model_factory must be a callable'),
    (dict(extra=1), TypeError, "unexpected keyword argument(s) ['extra']"),
    (dict(column='pixels'), ValueError, "column: the dataset has no column 'pixels'; its columns: "
                                        "['id', 'doc']"),
    (dict(id_column=3), TypeError, 'id_column must be a str'),
    (dict(batch_size=0), ValueError, 'batch_size must be at least 1'),
    (dict(num_workers=1.5), TypeError, 'num_workers must be an int or None'),
    (dict(on_error='skip'), ValueError, "on_error must be one of ('record', 'raise')"),
    (dict(preprocess='zscore'), ValueError, 'preprocess must be one of'),
    (dict(image_size=(0, 4)), ValueError, 'image_size must be positive'),
    (dict(method='nope'), ValueError, 'method'),
    (dict(layer=object()), TypeError, 'layer must be a name or an index'),
])
def test_bad_arguments_are_named_before_anything_runs(kwargs, error, message):
    dataset = ray.data.from_items([{'id': 0, 'doc': DOCS[0]}])
    arguments = {'model_factory': ray_models.torch_cnn, **kwargs}
    with pytest.raises(error, match=re.escape(message)):
        explain_dataset(dataset, **arguments)


def test_an_unpicklable_factory_is_named():
    lock = threading.Lock()
    dataset = ray.data.from_items([{'id': 0, 'doc': DOCS[0]}])
    with pytest.raises(TypeError, match='model_factory must be picklable'):
        explain_dataset(dataset, lambda: lock)


def test_a_factory_that_returns_no_model_fails_the_job_with_its_name():
    dataset = ray.data.from_items([{'id': 0, 'doc': DOCS[0]}])
    with pytest.raises(Exception, match='model_factory must return a PyTorch nn.Module'):
        explain_dataset(dataset, ray_models.not_a_model, num_workers=1).materialize()
