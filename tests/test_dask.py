"""The README's "Scaling out" examples, run as written: GridSearchCV with
n_jobs, under joblib's Dask backend on a distributed LocalCluster, and
dask-ml's Incremental (and a hand loop) around partial_fit. Needs the
``dask`` extra; in a fresh process, bounded in time."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("dask_ml")

README = Path(__file__).resolve().parents[1] / "README.md"


def scaling_out_examples():
    text = README.read_text()
    section = text.split("## Scaling out", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_scaling_out_examples_run():
    blocks = scaling_out_examples()
    assert len(blocks) == 3
    check = """
assert grid.best_score_ > 0.8, grid.best_score_
assert inc.estimator_.t_ == X.shape[0]  # every block trained on, once
assert len(mlp.validation_loss_curve_) == 25
print("ok")
"""
    code = "import warnings\nwarnings.simplefilter('ignore')\n" + "".join(blocks) + check
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip().splitlines()[-1] == "ok", done.stdout
