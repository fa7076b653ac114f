"""A trivial cached numba function: what numba alone costs a process
(``probes.py numba-floor``)."""

from numba import njit


@njit(cache=True)
def trivial(a):
    return a[0]
