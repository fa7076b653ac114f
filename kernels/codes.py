"""Integer codes for activations, losses and solvers.

The one table both layers read: the estimators translate their string
parameters into these codes, and the kernels branch on them outside their
inner loops (compiled code never receives Python functions).
"""

# Activations (hidden layers use IDENTITY, LOGISTIC, TANH, RELU, ELU,
# SOFTPLUS, LEAKY_RELU, GELU and SILU; outputs use IDENTITY, LOGISTIC,
# SOFTMAX or EXP). A hidden activation's kernels take one float parameter
# beside the code: LEAKY_RELU's negative slope (ignored by the others).
IDENTITY = 0
LOGISTIC = 1
TANH = 2
RELU = 3
SOFTMAX = 4
EXP = 5
ELU = 6  # z if z > 0 else exp(z) - 1
SOFTPLUS = 7  # log(1 + exp(z))
LEAKY_RELU = 8  # z if z > 0 else slope * z
GELU = 9  # z * Phi(z), Phi the standard normal CDF (the exact form, not tanh's)
SILU = 10  # z * sigmoid(z)

ACTIVATIONS = {
    "identity": IDENTITY,
    "logistic": LOGISTIC,
    "tanh": TANH,
    "relu": RELU,
    "softmax": SOFTMAX,
    "exp": EXP,
    "elu": ELU,
    "softplus": SOFTPLUS,
    "leaky_relu": LEAKY_RELU,
    "gelu": GELU,
    "silu": SILU,
}

# Losses. The first four are paired with the output activation that makes
# their gradient with respect to the output pre-activation ``output - y``
# (the canonical link); the robust regression losses take the identity
# output and have gradients ``sign(output - y) / n_outputs`` and
# ``clip(output - y, -delta, delta) / n_outputs`` (their losses average
# over outputs). The loss kernels take one float parameter beside the
# code: HUBER's threshold delta (ignored by the others).
SQUARED_ERROR = 0  # identity output; half the mean squared error
POISSON = 1  # exp output; half the Poisson deviance
LOG_LOSS = 2  # softmax output; categorical cross-entropy
BINARY_LOG_LOSS = 3  # logistic output; binary cross-entropy per output
ABSOLUTE_ERROR = 4  # identity output; the mean absolute error over outputs
HUBER = 5  # identity output; mean over outputs of r**2/2 (|r| <= delta), else delta*(|r| - delta/2)

LOSSES = {
    "squared_error": SQUARED_ERROR,
    "poisson": POISSON,
    "log_loss": LOG_LOSS,
    "binary_log_loss": BINARY_LOG_LOSS,
    "absolute_error": ABSOLUTE_ERROR,
    "huber": HUBER,
}

# Stochastic solvers (lbfgs runs in SciPy on the full-batch kernels).
SGD = 0
ADAM = 1

SOLVERS = {"sgd": SGD, "adam": ADAM}
