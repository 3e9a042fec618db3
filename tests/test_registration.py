"""Lazy registration with eli5: no framework imported, ours wins for Keras."""
import os
import subprocess
import sys
import textwrap

import pytest

from eli5_gradcam import _dispatch
from eli5_gradcam._optional import import_optional

FRAMEWORKS = ('torch', 'tensorflow', 'keras', 'jax', 'tf_keras', 'ray', 'pyarrow')


def run_python(code, **env):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', **env)
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                            capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_import_adds_no_framework_module():
    out = run_python(f"""
        import sys, eli5
        before = set(sys.modules)
        import eli5_gradcam
        new = sorted(m for m in set(sys.modules) - before
                     if m.split('.')[0] in {FRAMEWORKS!r})
        print('NEW', new)
    """)
    assert 'NEW []' in out


def test_import_loads_the_core_only_when_first_needed():
    out = run_python('''
        import sys, warnings, eli5, eli5_gradcam
        print('CORE', 'eli5_gradcam.nn' in sys.modules)
        warnings.simplefilter('error', eli5_gradcam.FlatHeatmapWarning)
        print('LAZY', eli5_gradcam.FlatHeatmapWarning.__module__,
              eli5_gradcam.image_from_path.__module__, 'FlatHeatmapWarning' in dir(eli5_gradcam))
        try:
            eli5_gradcam.no_such_name
        except AttributeError as exc:
            print('MISSING', exc)
    ''')
    assert 'CORE False' in out
    assert 'LAZY eli5_gradcam.nn.gradcam eli5_gradcam.nn.image True' in out
    assert "MISSING module 'eli5_gradcam' has no attribute 'no_such_name'" in out


def test_import_works_with_every_framework_missing():
    # Make each framework unimportable: any import of one by us would fail.
    out = run_python(f"""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in {FRAMEWORKS!r}:
                    raise ImportError('blocked for this test: ' + name)
                return None
        sys.meta_path.insert(0, Block())
        import eli5, eli5_gradcam
        assert not any(m.split('.')[0] in {FRAMEWORKS!r} for m in sys.modules)
        print('OK', eli5.format_as_image is eli5_gradcam.format_as_image)
    """)
    assert 'OK True' in out


KERAS_ROUTED = """
    import eli5_gradcam._dispatch as dispatch
    dispatch.adapter_for = lambda framework: (lambda model, doc, **kw: 'routed:' + framework)
    import keras
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    print(eli5.explain_prediction.dispatch(keras.Model).__module__)
    print(eli5.explain_prediction(model, None))
"""


@pytest.mark.parametrize('imports', [
    'import keras, eli5, eli5_gradcam',
    'import eli5_gradcam, keras, eli5',
    'import eli5, eli5_gradcam, keras',
    'import eli5, keras, eli5_gradcam',
])
def test_keras_model_dispatches_to_us_in_any_import_order(imports):
    pytest.importorskip('keras')
    out = run_python(imports + '\nimport eli5' + textwrap.dedent(KERAS_ROUTED),
                     KERAS_BACKEND='tensorflow')
    assert 'eli5_gradcam._dispatch' in out
    assert 'routed:keras' in out


def test_torch_model_dispatches_lazily():
    pytest.importorskip('torch')
    out = run_python("""
        import sys, eli5, eli5_gradcam
        import eli5_gradcam._dispatch as dispatch
        print('torch imported before:', 'torch' in sys.modules)
        dispatch.adapter_for = lambda framework: (lambda model, doc, **kw: 'routed:' + framework)
        import torch
        print(eli5.explain_prediction(torch.nn.Linear(2, 2), None))
    """)
    assert 'torch imported before: False' in out
    assert 'routed:torch' in out


def test_other_estimators_keep_eli5_behaviour():
    import eli5
    from sklearn.linear_model import LogisticRegression
    import numpy as np
    clf = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    expl = eli5.explain_prediction(clf, np.array([0.5]))
    assert expl.error is None and expl.targets
    unknown = eli5.explain_prediction(object(), None)
    assert 'is not supported' in unknown.error


def _fake(*modules):
    """A class whose MRO walks through classes 'defined in' ``modules``."""
    bases = (object,)
    for module in reversed(modules):
        base = type('Base', bases, {'__module__': module})
        bases = (base,)
    return type('Model', bases, {'__module__': '__main__'})


@pytest.mark.parametrize('modules, framework', [
    (('torch.nn.modules.module',), 'torch'),
    (('keras.src.models.model', 'torch.nn.modules.module'), 'keras'),  # Keras on torch
    (('tf_keras.src.engine.training',), 'tf_keras'),
    (('sklearn.base',), None),
])
def test_framework_of_reads_the_mro(modules, framework):
    assert _dispatch.framework_of(_fake(*modules)()) == framework


def test_missing_optional_dependency_names_the_extra():
    with pytest.raises(ImportError, match=r"pip install 'eli5-gradcam\[torch\]'"):
        import_optional('no_such_module_here', 'torch')


def test_the_ray_runner_without_ray_names_the_extra():
    out = run_python("""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] == 'ray':
                    raise ImportError('blocked for this test: ' + name)
                return None
        sys.meta_path.insert(0, Block())
        import eli5_gradcam
        try:
            import eli5_gradcam.ray
        except ImportError as exc:
            print('ERROR', exc)
    """)
    assert "pip install 'eli5-gradcam[ray]'" in out
