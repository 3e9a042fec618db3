"""The runner's pieces without a Ray instance: decoding cells, the output schema."""
import numpy as np
import pyarrow as pa
import pytest

import ray_models
from eli5_gradcam.ray.documents import Decoding, decode_document
from eli5_gradcam.ray.rows import error_row, names_index, output_schema, rows_table


def test_cells_become_model_inputs():
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    png = ray_models.png_bytes(pixels)
    torch_layout = decode_document(png, Decoding(preprocess='none', channels_first=True))
    assert torch_layout.shape == (3, 4, 6) and torch_layout.dtype == np.float32
    np.testing.assert_array_equal(torch_layout, pixels.transpose(2, 0, 1))
    resized = decode_document(png, Decoding(image_size=(8, 2), preprocess='unit',
                                            channels_first=False))
    assert resized.shape == (8, 2, 3) and 0 <= resized.min() and resized.max() <= 1
    custom = decode_document(png, Decoding(preprocess=lambda image: np.zeros(image.size)))
    assert custom.shape == (6, 4)
    tokens = decode_document(np.array([5, 0, 7]), Decoding())
    assert tokens.tolist() == [5, 0, 7]


def test_cells_that_are_not_documents_name_doc(tmp_path):
    cases = [(None, ValueError, r'doc is missing \(None\)'),
             (b'\x89PNG broken', ValueError, 'doc: cannot decode an image from 11 bytes'),
             (str(tmp_path / 'gone.png'), ValueError, 'doc: cannot decode an image from file'),
             (np.array(['a', 'b']), TypeError, 'doc: the ndarray cell must hold numbers'),
             (np.float32(3.0), ValueError, 'is a scalar')]
    for cell, error, message in cases:
        with pytest.raises(error, match=message):
            decode_document(cell, Decoding())


def test_a_batch_of_errors_keeps_the_output_types():
    table = rows_table([error_row('a', 'ValueError: doc is missing (None)')], 'key',
                       np.array(['a'], dtype=object))
    assert table.schema == output_schema('key', pa.string())
    assert table.column('heatmap').type == pa.list_(pa.float32())
    assert table.to_pylist()[0]['error'] == 'ValueError: doc is missing (None)'
    empty = rows_table([], 'id', np.array([], dtype=np.int64))
    assert empty.num_rows == 0 and empty.schema == output_schema('id', pa.int64())


def test_target_names_map_back_to_indices():
    assert names_index(['cat', 'dog']) == {'cat': 0, 'dog': 1}
    assert names_index({3: 'fox', 7: 'owl'}) == {'fox': 3, 'owl': 7}
    assert names_index(None) == {}
