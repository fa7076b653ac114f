"""Sparse X read in place by the first layer (the component, one per
float and index dtype, is ``compiled/sparse.py``'s): when a fit or a
prediction takes that path, and the component's spec. Dense fits carry
none of its code.
"""

import numpy as np


def csr_name(dtype, index_dtype):
    """The unit name (and qualified name) of ``csr_component``."""
    return f"csr_{np.dtype(dtype).name}_{np.dtype(index_dtype).name}"


#: Sparse X feeds the first layer in place (``dense.input_product``) where
#: at most this share of its entries is stored, or where a dense block of
#: the rows the driver takes at once would pass DENSE_BLOCK_BYTES; denser
#: X is gathered dense for BLAS, which is faster there. (2-core EPYC, 5000
#: rows, 100 hidden units: in place, adam 1.4-4.5x and lbfgs 1-5x faster
#: from 1% to 10% density; at 20% adam 1.5x faster and lbfgs even; at 30%
#: lbfgs 15-45% slower.)
IN_PLACE_DENSITY = 0.2
DENSE_BLOCK_BYTES = 16 * 2**20


def in_place(data, indptr, is_sparse, block_rows, n_in):
    """Whether sparse X (``data``, ``indptr``), taken ``block_rows`` rows of
    ``n_in`` features at a time, is read in place rather than gathered
    dense."""
    n_rows = indptr.shape[0] - 1
    return bool(is_sparse) and (
        data.shape[0] <= IN_PLACE_DENSITY * n_rows * n_in
        or block_rows * n_in * data.itemsize > DENSE_BLOCK_BYTES)


def csr_specs(dtype, indices, direct):
    """The specs (see ``_calls.run``) of the first layer over sparse rows
    read in place, where they are (``direct``; else none: the drivers get
    None, see ``dense.input_product``)."""
    if not direct:
        return []
    return [(("sparse", "csr_component"), csr_name, (np.dtype(dtype).type, indices.dtype.type))]
