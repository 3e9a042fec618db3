"""The metrics import no framework, and a callable model needs none."""
import os
import subprocess
import sys
import textwrap

FRAMEWORKS = ('torch', 'tensorflow', 'keras', 'jax', 'tf_keras')


def test_metrics_import_and_score_without_any_framework():
    code = f"""
        import sys, eli5
        before = set(sys.modules)
        import numpy as np
        from eli5_gradcam import metrics
        curve = metrics.deletion(lambda b: b.reshape(len(b), -1).sum(1), np.ones((1, 4, 4, 3)),
                                 metrics.centre_map((4, 4)), steps=4)
        new = sorted(m for m in set(sys.modules) - before
                     if m.split('.')[0] in {FRAMEWORKS!r})
        print('NEW', new, 'SCORES', curve.scores.tolist())
    """
    result = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                            text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'),
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'NEW []' in result.stdout
    assert 'SCORES [48.0, 36.0, 24.0, 12.0, 0.0]' in result.stdout
