"""fastnn's compiled numeric core.

Arrays in, arrays out: nothing here knows about estimators or scikit-learn.
``codes`` holds the integer codes both layers read; ``cpu`` holds the
``@njit`` kernels (and, where installed, ``cuda`` their GPU twins).
Installed as ``fastnn.kernels``.
"""
