"""Sphinx configuration of the eli5-gradcam documentation.

Build (from the repository root)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

No network is needed and no deep-learning framework is imported: autodoc
only imports the framework-free core, and every framework is mocked.
"""
import shutil
from pathlib import Path
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, ROOT)

# -- Project ---------------------------------------------------------------

project = 'eli5-gradcam'
author = 'eli5-gradcam developers'
copyright = '2026, eli5-gradcam developers'


def _read_version():
    # Read eli5_gradcam/_version.py as text: importing the package would
    # import eli5, and eli5 imports keras (and with it TensorFlow or JAX).
    path = os.path.join(ROOT, 'eli5_gradcam', '_version.py')
    with open(path, encoding='utf-8') as handle:
        match = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", handle.read(), re.M)
    if match is None:
        raise RuntimeError(f'no __version__ in {path}')
    return match.group(1)


release = _read_version()
version = '.'.join(release.split('.')[:2])

# -- Extensions ------------------------------------------------------------

extensions = [
    'sphinx.ext.autodoc',
    'sphinx.ext.mathjax',
    'sphinx.ext.viewcode',
    'numpydoc',
    'myst_nb',
]

# The tutorial notebooks live in ../notebooks (executed, outputs saved; CI
# re-executes them in tests/notebooks).  Sphinx only reads files under its
# source folder, so they are copied into tutorials/ (git-ignored) and shown
# with their saved outputs.
_NOTEBOOKS = Path(__file__).resolve().parent.parent / 'notebooks'
_TUTORIALS = Path(__file__).resolve().parent / 'tutorials'
_TUTORIALS.mkdir(exist_ok=True)
for _notebook in sorted(_NOTEBOOKS.glob('*.ipynb')):
    shutil.copyfile(_notebook, _TUTORIALS / _notebook.name)
nb_execution_mode = 'off'
source_suffix = {'.rst': 'restructuredtext', '.ipynb': 'myst-nb'}

#: Frameworks are never imported to build the docs.
FRAMEWORKS = ['torch', 'tensorflow', 'keras', 'jax', 'tf_keras']
autodoc_mock_imports = list(FRAMEWORKS)
autodoc_member_order = 'bysource'
autodoc_typehints = 'none'          # numpydoc's Parameters sections give the types
autodoc_default_options = {'members': True, 'show-inheritance': False}

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False


class _BlockFrameworks:
    """A meta-path finder that makes importing a framework fail."""

    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in FRAMEWORKS:
            raise ModuleNotFoundError(f'{name} is not imported while building the docs',
                                      name=name)
        return None


def _import_eli5_without_frameworks():
    # eli5 0.16 imports keras in ``eli5/__init__.py`` (inside ``try/except
    # ImportError``) when keras is installed, and registers its own Keras
    # explainer with ``functools.singledispatch``.  Under autodoc's mocks that
    # registration never finishes (``typing.get_type_hints`` on a mock class),
    # and importing the real keras would load TensorFlow.  So eli5 is imported
    # once here with the frameworks made unimportable: it skips its Keras
    # support, and autodoc finds eli5 already imported.
    blocker = _BlockFrameworks()
    sys.meta_path.insert(0, blocker)
    try:
        import eli5  # noqa: F401
    finally:
        sys.meta_path.remove(blocker)


_import_eli5_without_frameworks()

# -- General ---------------------------------------------------------------

templates_path = []
exclude_patterns = ['_build', 'Thumbs.db', '.DS_Store']
root_doc = 'index'
default_role = 'code'
pygments_style = 'sphinx'

# -- HTML ------------------------------------------------------------------

html_theme = 'alabaster'
html_title = f'eli5-gradcam {release}'
html_static_path = []
html_theme_options = {
    'description': 'Grad-CAM explanations of Keras and PyTorch predictions, in eli5',
    'fixed_sidebar': True,
    'show_relbars': True,
}
html_sidebars = {'**': ['about.html', 'navigation.html', 'searchbox.html']}
