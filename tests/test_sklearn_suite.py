"""scikit-learn's own MLP test module, run against fastnn: the installed
``sklearn/neural_network/tests/test_mlp.py`` with its estimators' import
swapped for fastnn's, in a pytest process of its own."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sklearn

SOURCE = Path(sklearn.__file__).parent / "neural_network" / "tests" / "test_mlp.py"
IMPORT = "from sklearn.neural_network import MLPClassifier, MLPRegressor"

#: Tests of scikit-learn's private internals, which fastnn does not have.
PRIVATE = {"test_gradient": "calls the private _loss_grad_lbfgs"}

CONFTEST = '''
import pytest


@pytest.fixture
def global_random_seed():  # scikit-learn's fixture, at its default
    return 42
'''


@pytest.mark.skipif(not SOURCE.exists(), reason="scikit-learn installed without its tests")
def test_scikit_learns_mlp_tests_pass_on_fastnn(tmp_path):
    source = SOURCE.read_text()
    assert IMPORT in source
    (tmp_path / "test_mlp_fastnn.py").write_text(
        source.replace(IMPORT, "from fastnn import MLPClassifier, MLPRegressor"))
    (tmp_path / "conftest.py").write_text(CONFTEST)
    deselect = [f"--deselect=test_mlp_fastnn.py::{name}" for name in PRIVATE]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *deselect,
         "test_mlp_fastnn.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200,
    )
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"\d+ passed", summary) and "failed" not in summary, summary
    assert f"{len(PRIVATE)} deselected" in summary, summary
