"""eli5's own test suite as a conformance suite for eli5_gradcam (issue 13).

``import eli5_gradcam`` re-registers :func:`eli5.explain_prediction` and rebinds
eli5's formatters; eli5's behaviour must not change where our explainers do not
apply.  This script fetches the eli5 sdist (or reuses ``.eli5-tests/``), checks
its sha256, extracts its ``tests/`` into ``.eli5-tests/`` with stand-ins for two
helper modules the sdist omits (``_ci/eli5_support/test_helpers``), and runs the
kept test files twice: plain, and with ``-p eli5_gradcam_plugin`` (which imports
eli5_gradcam before any test).  It exits 1 on a regression: a test that passes
plain and does not pass with the plugin (or a failure only the plugin run has).
Tests failing in both runs are listed and never counted as passing.

Usage: python _ci/eli5_conformance.py [extra pytest args...]
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / '.eli5-tests'
SUPPORT = ROOT / '_ci' / 'eli5_support'
ELI5_VERSION = '0.16.0'
SDIST = f'eli5-{ELI5_VERSION}.tar.gz'
SDIST_SHA256 = '6d8ab55b3535f8feecf4f98dbaadd6876121e5a2549735635cf71707d34bd47c'

#: eli5 test files not run, and why (the rest of tests/test_*.py runs).
SKIPPED_FILES = {
    'test_catboost.py': 'needs catboost (not in requirements.txt)',
    'test_lightgbm.py': 'needs lightgbm (not in requirements.txt)',
    'test_lightning.py': 'needs sklearn-contrib-lightning (not in requirements.txt)',
    'test_xgboost.py': 'needs xgboost (not in requirements.txt)',
    'test_sklearn_crfsuite.py': 'needs sklearn-crfsuite (not in requirements.txt)',
    'test_llm_explain_prediction.py': 'needs openai and transformers (not in requirements.txt)',
    'test_sklearn_explain_prediction.py':
        'does not collect on scikit-learn 1.9: LassoCV(n_alphas=...) was removed',
    'test_sklearn_transform.py':
        'does not collect on scikit-learn 1.9: LogisticRegression(multi_class=...) was removed',
}

Outcome = Tuple[str, str]  # ('passed' | 'failed' | 'skipped', first line of the reason)
ABSENT: Outcome = ('absent', '')


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_sdist() -> Path:
    """The verified sdist, downloaded with pip unless a good copy is cached."""
    sdist = WORK / SDIST
    if not sdist.exists() or sha256(sdist) != SDIST_SHA256:
        sdist.unlink(missing_ok=True)
        pip = subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet', '--no-deps',
                              '--no-binary', ':all:', f'eli5=={ELI5_VERSION}', '-d', str(WORK)],
                             capture_output=True, text=True)
        if pip.returncode or not sdist.exists():
            sys.exit(f'eli5 conformance: pip download failed:\n{pip.stdout}{pip.stderr}')
    digest = sha256(sdist)
    if digest != SDIST_SHA256:
        sys.exit(f'eli5 conformance: {SDIST} has sha256 {digest}, expected {SDIST_SHA256}')
    return sdist


def extract_tests(sdist: Path) -> List[str]:
    """Extract tests/ (plus our helpers) into WORK; return the test files to run."""
    shutil.rmtree(WORK / 'tests', ignore_errors=True)
    prefix = f'eli5-{ELI5_VERSION}/'
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(prefix + 'tests/')]
        for member in members:
            member.name = member.name[len(prefix):]
        tar.extractall(WORK, members=members, filter='data')
    (WORK / 'tests' / '__init__.py').touch()  # eli5's tests import helpers relatively
    for helper in (SUPPORT / 'test_helpers').glob('*.py'):
        shutil.copy(helper, WORK / 'tests' / helper.name)
    (WORK / 'pytest.ini').write_text('[pytest]\n')  # keep our pyproject's settings out
    files = sorted(p.name for p in (WORK / 'tests').glob('test_*.py'))
    return [f'tests/{name}' for name in files if name not in SKIPPED_FILES]


def reason_of(element: ET.Element) -> str:
    """First line of a failure's message; the last ``E`` line where that says nothing."""
    message = (element.get('message') or '').strip()
    if message in ('', 'collection failure') or message.startswith('failed on setup with "file '):
        e_lines = [line[1:].strip() for line in (element.text or '').splitlines()
                   if line.startswith('E ')]
        message = e_lines[-1] if e_lines else message
    message = message.splitlines()[0] if message else element.tag
    wrapped = re.fullmatch(r'failed on (\w+) with "(.*)"', message)
    return f'{wrapped[2]} (in {wrapped[1]})' if wrapped else message


def node_id(case: ET.Element) -> str:
    """pytest's node id from a junit testcase (eli5's tests sit flat in tests/)."""
    classname, name = case.get('classname') or '', case.get('name') or ''
    parts = (classname or name).split('.')  # a collection error has the module as name
    rest = parts[2:] + ([name] if classname else [])
    return '::'.join(['/'.join(parts[:2]) + '.py'] + rest)


def run_pytest(label: str, files: List[str], extra: List[str]) -> Dict[str, Outcome]:
    """Run pytest on ``files``; outcomes by test id, from its junit XML."""
    xml, log = WORK / f'{label}.xml', WORK / f'{label}.log'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(SUPPORT), os.environ.get('PYTHONPATH')])))
    plugin = ['-p', 'eli5_gradcam_plugin'] if label == 'plugin' else []
    cmd = [sys.executable, '-m', 'pytest', '-c', 'pytest.ini', '--rootdir', '.', *plugin,
           '-p', 'no:cacheprovider', '--continue-on-collection-errors', '--timeout=300',
           '--hypothesis-seed=0', f'--junitxml={xml.name}', *extra, *files]
    with log.open('w') as out:
        rc = subprocess.run(cmd, cwd=WORK, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    tail = log.read_text().rstrip().splitlines()[-1:] or ['(no output)']
    print(f'[{label}] pytest exit {rc}: {tail[0]}  (log: {log.relative_to(ROOT)})')
    if rc not in (0, 1) or not xml.exists():
        sys.exit(f'eli5 conformance: the {label} run did not complete (exit {rc}); see {log}')
    header = [line for line in log.read_text().splitlines() if line.startswith('eli5_gradcam ')]
    if plugin and not header:
        sys.exit(f'eli5 conformance: eli5_gradcam_plugin did not report itself; see {log}')
    print(''.join(f'[{label}] {line}\n' for line in header), end='')
    outcomes: Dict[str, Outcome] = {}
    for case in ET.parse(xml).iter('testcase'):
        bad = [c for c in case if c.tag in ('failure', 'error')]
        found = bad or [c for c in case if c.tag == 'skipped']
        outcome = 'failed' if bad else 'skipped' if found else 'passed'
        outcomes[node_id(case)] = (outcome, reason_of(found[0]) if found else '')
    return outcomes


def classify(before: str, after: str) -> str:
    """A test's group, from its outcomes without and with the plugin."""
    if before == after == 'passed':
        return 'passed'
    if before == 'passed' or (after == 'failed' and before != 'failed'):
        return 'regression'  # also: a failure (e.g. a collection error) only the plugin run has
    if before == after == 'failed':
        return 'failing'
    return 'fixed' if after == 'passed' else 'skipped'


def main(extra: List[str]) -> int:
    os.environ.setdefault('KERAS_BACKEND', 'tensorflow')  # eli5 0.16's Keras code is TF-only
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    WORK.mkdir(exist_ok=True)
    files = extract_tests(fetch_sdist())
    print(f'eli5 {ELI5_VERSION} test files run: {" ".join(Path(f).name for f in files)}')
    for name, why in SKIPPED_FILES.items():
        print(f'  not run: {name}: {why}')
    plain, plugin = run_pytest('plain', files, extra), run_pytest('plugin', files, extra)
    groups: Dict[str, List[str]] = {g: [] for g in ('passed', 'regression', 'failing',
                                                      'fixed', 'skipped')}
    for tid in sorted(set(plain) | set(plugin)):
        (before, why_before), (after, why) = plain.get(tid, ABSENT), plugin.get(tid, ABSENT)
        group = classify(before, after)
        groups[group].append(tid + {
            'regression': f'\n      plain: {before}; with eli5_gradcam: {after}: {why}',
            'failing': f': {why}', 'fixed': f' (plain: {before}: {why_before})'}.get(group, ''))
    regressions = groups['regression']
    for title, items in (('failing in both runs (not counted as passing)', groups['failing']),
                         ('passing only with eli5_gradcam', groups['fixed']),
                         ('REGRESSIONS: pass without eli5_gradcam, not with it', regressions)):
        if items:
            print(f'\n{title}: {len(items)}')
            print('\n'.join(f'  {item}' for item in items))
    print(f"\neli5 conformance: {len(groups['passed'])} passed in both, {len(regressions)} "
          f"regressions, {len(groups['failing'])} failing in both (listed above), "
          f"{len(groups['skipped'])} skipped")
    return 1 if regressions else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
