"""The same MLP trained with PyTorch (on the CPU, or ``device="cuda"``), as a
third reference.

``TorchMLP(estimator, params, n_epochs, dtype)`` mirrors a scikit-learn
``MLPClassifier``/``MLPRegressor`` configuration:

* network: ``Linear`` layers with the hidden activation between them,
  initialised exactly as scikit-learn does (Glorot-uniform weights and
  biases drawn from ``RandomState(random_state)`` in the same order);
* loss: softmax cross-entropy (multiclass), sigmoid cross-entropy (binary)
  or squared error / 2 (regression), averaged over the batch;
* optimizer: ``Adam(lr, betas, eps)`` or ``SGD(lr, momentum, nesterov)``
  with a constant learning rate; scikit-learn's L2 penalty is
  ``weight_decay = alpha / batch_size`` on the weights only (exact for
  full batches);
* the same batch size and a fresh shuffle every epoch (drawn as
  scikit-learn draws them), for a fixed number of epochs (``n_epochs``,
  the benchmark passes the ``n_iter_`` fastnn used); no early stopping.

Only the sgd and adam solvers with ``learning_rate="constant"`` are
mirrored; ``supported(params)`` says whether a configuration is.
"""

import os

import numpy as np
import torch
from sklearn.metrics import r2_score
from sklearn.utils import check_random_state
from sklearn.utils import shuffle as sk_shuffle

torch.set_num_threads(os.cpu_count())

_ACTIVATIONS = {
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "logistic": torch.nn.Sigmoid,
    "identity": torch.nn.Identity,
}

_DEFAULTS = dict(
    hidden_layer_sizes=(100,), activation="relu", solver="adam", alpha=0.0001,
    batch_size="auto", learning_rate="constant", learning_rate_init=0.001,
    shuffle=True, random_state=None, momentum=0.9, nesterovs_momentum=True,
    beta_1=0.9, beta_2=0.999, epsilon=1e-8, early_stopping=False,
)


def supported(params):
    p = dict(_DEFAULTS, **params)
    return (
        p["solver"] in ("sgd", "adam")
        and (p["solver"] == "adam" or p["learning_rate"] == "constant")
        and not p["early_stopping"]
    )


class TorchMLP:
    def __init__(self, estimator, params, n_epochs, dtype=np.float64, device="cpu"):
        self.is_classifier = estimator == "MLPClassifier"
        self.p = dict(_DEFAULTS, **params)
        if not supported(self.p):
            raise ValueError("configuration not mirrored in PyTorch")
        self.n_epochs = int(n_epochs)
        self.dtype = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
        self.device = torch.device(device)

    # -- model -------------------------------------------------------------
    def _build(self, units, rs):
        layers = []
        factor = 2.0 if self.p["activation"] == "logistic" else 6.0
        for i, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
            bound = np.sqrt(factor / (fan_in + fan_out))
            W = rs.uniform(-bound, bound, (fan_in, fan_out))
            b = rs.uniform(-bound, bound, fan_out)
            lin = torch.nn.Linear(fan_in, fan_out, dtype=self.dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T.copy()))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if i < len(units) - 2:
                layers.append(_ACTIVATIONS[self.p["activation"]]())
        return torch.nn.Sequential(*layers)

    def _optimizer(self, model, batch_size):
        weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
        biases = [m.bias for m in model if isinstance(m, torch.nn.Linear)]
        groups = [
            {"params": weights, "weight_decay": self.p["alpha"] / batch_size},
            {"params": biases, "weight_decay": 0.0},
        ]
        lr = self.p["learning_rate_init"]
        if self.p["solver"] == "adam":
            return torch.optim.Adam(groups, lr=lr, betas=(self.p["beta_1"], self.p["beta_2"]),
                                    eps=self.p["epsilon"])
        momentum = self.p["momentum"]
        return torch.optim.SGD(groups, lr=lr, momentum=momentum,
                               nesterov=bool(self.p["nesterovs_momentum"] and momentum > 0))

    # -- targets -----------------------------------------------------------
    def _targets(self, y):
        if not self.is_classifier:
            y = np.asarray(y, dtype=np.float64)
            y = y.reshape(len(y), -1)
            self.n_outputs = y.shape[1]
            self.loss_fn = lambda out, t: 0.5 * torch.nn.functional.mse_loss(out, t)
            return torch.from_numpy(y).to(self.dtype)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) == 2:
            self.n_outputs = 1
            self.loss_fn = torch.nn.functional.binary_cross_entropy_with_logits
            return torch.from_numpy(codes.astype(np.float64).reshape(-1, 1)).to(self.dtype)
        self.n_outputs = len(self.classes_)
        self.loss_fn = torch.nn.functional.cross_entropy
        return torch.from_numpy(codes.astype(np.int64))

    # -- estimator API -------------------------------------------------------
    def fit(self, X, y):
        rs = check_random_state(self.p["random_state"])
        X_t = torch.from_numpy(np.ascontiguousarray(X)).to(self.device, self.dtype)
        y_t = self._targets(y).to(self.device)
        n, n_features = X_t.shape
        units = [n_features, *self.p["hidden_layer_sizes"], self.n_outputs]
        self.model = self._build(units, rs).to(self.device)
        bs = self.p["batch_size"]
        bs = min(200, n) if bs == "auto" else int(np.clip(bs, 1, n))
        opt = self._optimizer(self.model, bs)
        idx = np.arange(n, dtype=np.int64)
        self.loss_curve_ = []
        self.model.train()
        for _ in range(self.n_epochs):
            if self.p["shuffle"]:
                idx = sk_shuffle(idx, random_state=rs)
            order = torch.from_numpy(idx).to(self.device)
            total = torch.zeros((), dtype=torch.float64, device=self.device)
            for start in range(0, n, bs):
                rows = order[start : start + bs]
                xb = X_t.index_select(0, rows)
                yb = y_t.index_select(0, rows)
                opt.zero_grad(set_to_none=True)
                loss = self.loss_fn(self.model(xb), yb)
                loss.backward()
                opt.step()
                total += loss.detach() * rows.shape[0]
            self.loss_curve_.append(float(total) / n)
        self.n_iter_ = self.n_epochs
        return self

    def _output(self, X):
        self.model.eval()
        with torch.no_grad():
            X_t = torch.from_numpy(np.ascontiguousarray(X)).to(self.device, self.dtype)
            return self.model(X_t).cpu().numpy()

    def predict(self, X):
        out = self._output(X)
        if not self.is_classifier:
            return out.ravel() if self.n_outputs == 1 else out
        if self.n_outputs == 1:
            return self.classes_[(out[:, 0] > 0).astype(int)]
        return self.classes_[out.argmax(axis=1)]

    def score(self, X, y):
        pred = self.predict(X)
        if self.is_classifier:
            return float(np.mean(pred == np.asarray(y)))
        return float(r2_score(y, pred))
