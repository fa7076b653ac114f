"""Launch geometry shared by the CUDA kernels.

``TPB`` (threads per block, 1-D), ``TILE`` (the side of a 2-D block) and
``TILED_MIN_K`` are read at every launch, so tests can patch them small
and make even tiny inputs span several blocks.
"""

TPB = 128
TILE = 16
#: Matrix products with an inner dimension at least this long use
#: shared-memory tiles; shorter ones, one plain thread per output.
TILED_MIN_K = 32


def grid1(n):
    """(blocks, threads) covering ``n`` items with one thread each."""
    return (max(1, (n + TPB - 1) // TPB), TPB)


def grid2(rows, cols):
    """(blocks, threads) covering a rows x cols output, one thread each."""
    return (
        (max(1, (rows + TILE - 1) // TILE), max(1, (cols + TILE - 1) // TILE)),
        (TILE, TILE),
    )
