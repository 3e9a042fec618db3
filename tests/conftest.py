"""Shared test settings: quiet logs, one thread, a hypothesis profile for CI."""
import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')

from hypothesis import HealthCheck, settings  # noqa: E402

# Shared CI machines are noisy: no per-example deadline.
settings.register_profile('ci', max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile('dev', max_examples=20, deadline=None)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'dev'))
