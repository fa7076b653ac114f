"""Integer codes for activations, losses and solvers.

The one table both layers read: the estimators translate their string
parameters into these codes, and the kernels branch on them outside their
inner loops (compiled code never receives Python functions).
"""

# Activations (hidden layers use IDENTITY, LOGISTIC, TANH, RELU, ELU and
# SOFTPLUS, all with derivatives computable from their output; outputs use
# IDENTITY, LOGISTIC, SOFTMAX or EXP).
IDENTITY = 0
LOGISTIC = 1
TANH = 2
RELU = 3
SOFTMAX = 4
EXP = 5
ELU = 6  # z if z > 0 else exp(z) - 1
SOFTPLUS = 7  # log(1 + exp(z))

ACTIVATIONS = {
    "identity": IDENTITY,
    "logistic": LOGISTIC,
    "tanh": TANH,
    "relu": RELU,
    "softmax": SOFTMAX,
    "exp": EXP,
    "elu": ELU,
    "softplus": SOFTPLUS,
}

# Losses. Each is paired with the output activation that makes its
# gradient with respect to the output pre-activation equal to
# ``output - y`` (the canonical link).
SQUARED_ERROR = 0  # identity output; half the mean squared error
POISSON = 1  # exp output; half the Poisson deviance
LOG_LOSS = 2  # softmax output; categorical cross-entropy
BINARY_LOG_LOSS = 3  # logistic output; binary cross-entropy per output

LOSSES = {
    "squared_error": SQUARED_ERROR,
    "poisson": POISSON,
    "log_loss": LOG_LOSS,
    "binary_log_loss": BINARY_LOG_LOSS,
}

# Stochastic solvers (lbfgs runs in SciPy on the full-batch kernels).
SGD = 0
ADAM = 1

SOLVERS = {"sgd": SGD, "adam": ADAM}
