"""Scratch buffers a caller keeps across kernel calls, one formula for
both devices.

L-BFGS evaluates the full-batch loss and gradient dozens of times on the
same data; the work buffers of one evaluation are megabytes (three
activation-sized blocks of up to a chunk of rows), and allocating them
afresh each call costs a page fault every 4 KiB on the CPU (for a digits
fit, 0.8 ms of a 2.2 ms call) and a device allocation on the GPU.
"""


def kept(work, key, make):
    """The buffers ``make()`` returns, made once and kept in the dict
    ``work`` for later calls with the same ``key`` (what sets their
    shapes); made afresh when ``work`` is None. A ``work`` dict belongs to
    one caller at a time (one fit): the buffers are written by every
    call."""
    if work is None:
        return make()
    if work.get("key") != key:
        work.clear()
        work["buffers"] = make()
        work["key"] = key
    return work["buffers"]
