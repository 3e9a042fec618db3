"""pytest plugin for the eli5 conformance suite: ``import eli5_gradcam`` first.

Loaded with ``-p eli5_gradcam_plugin`` (``_ci/eli5_conformance.py`` puts this
folder on ``PYTHONPATH``), so that eli5's own tests run with our explainers
registered and eli5's formatters rebound, as a user's session would have them.
"""
import eli5_gradcam


def pytest_report_header() -> str:
    return f'eli5_gradcam {eli5_gradcam.__version__} imported from {eli5_gradcam.__file__}'
