"""Draws docs/loss_curve.png, the README's example plot:
python docs/make_loss_curve.py"""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from fastnn import LossCurveDisplay, MLPClassifier  # noqa: E402

X, y = load_digits(return_X_y=True)
X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_tr)
clf = MLPClassifier(hidden_layer_sizes=(100,), early_stopping=True, scoring="loss",
                    n_iter_no_change=20, max_iter=300, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    clf.fit(scaler.transform(X_tr), y_tr, X_val=scaler.transform(X_val), y_val=y_val)
fig, ax = plt.subplots(figsize=(6, 3.6))
LossCurveDisplay.from_estimator(clf, ax=ax, name="digits")
ax.set_yscale("log")
ax.set_title("fastnn MLPClassifier on digits: training and validation loss", fontsize=10)
fig.tight_layout()
out = Path(__file__).with_name("loss_curve.png")
fig.savefig(out, dpi=90)
print(f"wrote {out}")
