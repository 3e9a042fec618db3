"""Eigen-CAM and EigenGrad-CAM: maps from a first principal component.

Both keep the contract of :mod:`eli5_gradcam.nn.gradcam`, whose ``METHODS``
table lists them: ``(activations, gradients)`` in, one map per document and
target out.  Each document's (or document and target's) layer output is read
as a matrix with one row per spatial position and one column per channel; the
map is that matrix, centred, projected on its first principal direction (the
first right singular vector).  ``spatial`` may have any rank; the
decompositions of all documents and targets are one stacked
:func:`numpy.linalg.eigh` call.

The sign of a singular vector is arbitrary (:math:`U \\Sigma V^T =
(-U) \\Sigma (-V)^T`), and numpy returns whichever LAPACK happens to give.  Every
map here is oriented by one documented rule instead, see
:func:`first_principal_projection`.
"""
from __future__ import annotations

import functools
from typing import Any, Tuple

import numpy as np

__all__ = [
    'ORIENTATION_TIE',
    'first_principal_projection',
    'eigencam_map',
    'eigengradcam_map',
]

#: A correlation of at most this magnitude between the projection and the
#: reference map counts as zero, and the sign rule falls back to the peak
#: (see :func:`first_principal_projection`): the rule never depends on
#: rounding.
ORIENTATION_TIE = 1e-9

#: Float types whose matrices need no rescaling before the decomposition
#: (see :func:`first_principal_projection`).
_NARROW_FLOATS = (np.dtype(np.float16), np.dtype(np.float32))


def _finite(values: np.ndarray) -> np.ndarray:
    """float64 copy with NaN as 0 (as pytorch-grad-cam does) and +-inf as the
    largest finite float, so that the decomposition always has finite input."""
    values = np.asarray(values)
    if np.isfinite(values).all():            # the usual case: no copy-and-replace pass
        return values.astype(np.float64)
    return np.nan_to_num(values.astype(np.float64), nan=0.0,
                         posinf=np.finfo(np.float64).max,
                         neginf=-np.finfo(np.float64).max)


def _peak(values: np.ndarray, axes: Tuple[int, ...]) -> np.ndarray:
    """Largest magnitude over ``axes`` (kept), 1 where the values are all 0."""
    peak = np.abs(values).max(axis=axes, keepdims=True)
    return np.where(peak > 0.0, peak, 1.0)


def _orient(projection: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Multiply each ``(..., positions)`` projection by +-1 following the rule
    of :func:`first_principal_projection`."""
    reference = reference - reference.mean(axis=-1, keepdims=True)
    agreement = (projection * reference).sum(axis=-1)
    norms = np.sqrt((projection ** 2).sum(axis=-1) * (reference ** 2).sum(axis=-1))
    correlation = np.where(norms > 0.0, agreement / np.where(norms > 0.0, norms, 1.0), 0.0)
    # Fallback: the first position (flat order) of largest magnitude is positive.
    magnitude = np.abs(projection)
    near_peak = magnitude >= magnitude.max(axis=-1, keepdims=True) * (1.0 - ORIENTATION_TIE)
    first_peak = np.argmax(near_peak, axis=-1)[..., np.newaxis]
    peak_value = np.take_along_axis(projection, first_peak, axis=-1)[..., 0]
    sign = np.where(np.abs(correlation) > ORIENTATION_TIE, np.sign(correlation),
                    np.sign(peak_value))
    return projection * np.where(sign < 0.0, -1.0, 1.0)[..., np.newaxis]


@functools.lru_cache(maxsize=1)
def _blas_threads() -> Any:
    """threadpoolctl's view of the BLAS libraries loaded (numpy's), built once."""
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def _one_blas_thread() -> Any:
    """A context in which numpy's BLAS and LAPACK run on one thread.

    The products and decompositions here are small, and they run right
    after the model's forward pass, whose framework threads are still
    spinning: multi-threaded BLAS then waits for cores.  Measured on 2 cores
    after a torch forward pass, a 49 x 49 decomposition took 10 ms with
    numpy's two BLAS threads and 0.35 ms with one.
    """
    return _blas_threads().limit(limits=1, user_api='blas')


def first_principal_projection(matrices: np.ndarray) -> np.ndarray:
    """Each matrix, centred, projected on its first principal direction.

    For a matrix :math:`X` of shape ``(positions, features)`` with column
    means :math:`\\bar x`, and :math:`\\bar X = X - 1 \\bar x^T = U \\Sigma V^T`
    the singular value decomposition of the centred matrix,

    .. math:: p = \\bar X v_1 = \\sigma_1 u_1

    where :math:`v_1` is the first right singular vector (the direction of
    largest variance over positions).  It is computed from the top eigenpair
    of the smaller of the two Gram matrices, :math:`\\bar X \\bar X^T` or
    :math:`\\bar X^T \\bar X` (the same vectors as the SVD, which is 2 to 10
    times slower on layer sizes of ResNet-50).

    **Sign rule.**  :math:`p` is oriented so that it correlates positively
    with the row sums :math:`r = X 1` (the total over features at each
    position): :math:`\\langle p, r - \\bar r \\rangle > 0`.  Equivalently
    :math:`\\sum_k v_{1k} > 0`, since
    :math:`\\langle p, r \\rangle = \\sigma_1^2 \\sum_k v_{1k}`.  When that
    correlation is zero (within :data:`ORIENTATION_TIE`), the first position,
    in C order, of largest :math:`|p_i|` is made positive (the |max| vs |min|
    rule of Seg-Eigen-CAM, Chung & Ying 2025, with ties broken by position).
    Neither rule depends on the order of the features, so a permutation of
    the channels leaves the map as it was.  Where :math:`\\sigma_1 =
    \\sigma_2` the first principal direction itself is not unique and the map
    is whichever one LAPACK returns.

    Parameters
    ----------
    matrices : numpy.ndarray
        ``(..., positions, features)``, finite.  A float64 (or integer)
        matrix is scaled by its largest magnitude before the decomposition
        (and the projection back), so that no value overflows; float16 and
        float32 matrices are decomposed in float64 as they are, since none of
        their values can overflow or underflow there.

    Returns
    -------
    numpy.ndarray
        ``(..., positions)``, float64.  All zero where a matrix has the same
        row at every position.
    """
    matrices = np.asarray(matrices)
    if matrices.dtype in _NARROW_FLOATS:
        # No float32 value can overflow or underflow the float64 products
        # below (|x| < 3.5e38, so a Gram entry stays under 1e78 per feature;
        # the smallest nonzero float32 squared is 2e-90): centre and project
        # as they are, in four passes over the matrix instead of ten.
        centred = matrices.astype(np.float64)
        row_sums = centred.sum(axis=-1)
        centred -= centred.mean(axis=-2, keepdims=True)
        return _orient(_top_projection(centred), row_sums)
    matrices = matrices.astype(np.float64, copy=False)
    scale = _peak(matrices, axes=(-2, -1))
    unit = matrices / scale
    centred = unit - unit.mean(axis=-2, keepdims=True)
    spread = _peak(centred, axes=(-2, -1))      # rescaled: no square underflows below
    projection = _orient(_top_projection(centred / spread), unit.sum(axis=-1))
    return projection * (scale * spread)[..., 0]


def _top_projection(centred: np.ndarray) -> np.ndarray:
    """``sigma_1 u_1`` of each ``(..., positions, features)`` float64 matrix,
    from the top eigenpair of the smaller Gram matrix (sign as LAPACK gives)."""
    positions, features = centred.shape[-2:]
    transposed = np.swapaxes(centred, -1, -2)
    with _one_blas_thread():
        if positions <= features:
            # p = sigma_1 u_1: the top eigenpair of the (positions x positions) Gram matrix
            values, vectors = np.linalg.eigh(np.matmul(centred, transposed))
            return vectors[..., -1] * np.sqrt(np.maximum(values[..., -1:], 0.0))
        # p = X v_1: the top eigenvector of the (features x features) one
        vectors = np.linalg.eigh(np.matmul(transposed, centred))[1]
        return np.matmul(centred, vectors[..., -1:])[..., 0]


def eigencam_map(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Eigen-CAM map before the ReLU: the layer's output projected on its
    first principal component.

    With :math:`A` the ``(positions, channels)`` matrix of one document's
    activations,

    .. math:: M_i = \\big((A - 1 \\bar a^T) \\, v_1\\big)_i

    (Muhammad & Yeasin 2020, https://arxiv.org/abs/2008.00299), computed and
    oriented by :func:`first_principal_projection`: the map correlates
    positively with the total activation :math:`\\sum_k A^k_i`.

    Gradient-free and class-agnostic: ``gradients`` are used only for their
    number of targets, and every target gets the same map (so
    ``counterfactual=True`` changes nothing either).

    Differences from the references: the paper's formula projects the
    layer's output matrix itself on its first right singular vector, with no
    centring step; pytorch-grad-cam's ``EigenCAM`` first subtracts each
    channel's mean over positions (a code comment there says the map comes
    out negative otherwise), and so does this function.  pytorch-grad-cam
    does not fix the sign: its map is :math:`\\pm M` as numpy's SVD returns
    it, rectified, so for a given input it is either this function's map
    after the ReLU or that of :math:`-M` (the two agree to float32 rounding,
    its precision, once the sign is matched).

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``; only its shape is read.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``.
    """
    activations = np.asarray(activations)
    if not (activations.dtype in _NARROW_FLOATS and np.isfinite(activations).all()):
        activations = _finite(activations)        # finite float64, decomposed rescaled
    batch, channels = activations.shape[0], activations.shape[-1]
    projection = first_principal_projection(activations.reshape(batch, -1, channels))
    maps = projection.reshape((batch, 1) + activations.shape[1:-1])
    return np.repeat(maps, gradients.shape[1], axis=1)


def eigengradcam_map(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """EigenGrad-CAM map before the ReLU: the first principal component of
    gradients times activations, for each target.

    With :math:`G^c \\odot A` the ``(positions, channels)`` matrix of the
    element-wise products (the terms HiResCAM sums over channels),

    .. math:: M^c_i = \\big((G^c \\odot A - 1 \\bar m^T) \\, v^c_1\\big)_i

    as pytorch-grad-cam's ``EigenGradCAM`` defines it (Eigen-CAM,
    https://arxiv.org/abs/2008.00299, applied to the products; no paper of
    its own), computed and oriented by :func:`first_principal_projection`:
    the map correlates positively with :math:`\\sum_k g^{kc}_i A^k_i`, the
    HiResCAM map of the same target.  So ``counterfactual=True`` (negated
    gradients) negates the map, except where that correlation is zero.

    pytorch-grad-cam centres the products too but does not fix the sign:
    its map is the ReLU of :math:`\\pm M^c`, whichever numpy's SVD gives.

    Parameters
    ----------
    activations : numpy.ndarray
        ``(batch, *spatial, channels)``.
    gradients : numpy.ndarray
        ``(batch, targets, *spatial, channels)``.

    Returns
    -------
    numpy.ndarray
        ``(batch, targets, *spatial)``.
    """
    activations = _finite(activations)
    gradients = _finite(gradients)
    batch, targets, channels = gradients.shape[0], gradients.shape[1], gradients.shape[-1]
    # Scale both factors to [-1, 1] first: their product cannot overflow.
    activation_scale = _peak(activations, axes=tuple(range(1, activations.ndim)))
    gradient_scale = _peak(gradients, axes=tuple(range(2, gradients.ndim)))
    products = (gradients / gradient_scale) * (activations / activation_scale)[:, np.newaxis]
    projection = first_principal_projection(products.reshape(batch, targets, -1, channels))
    scale = gradient_scale.reshape(batch, targets, 1) * activation_scale.reshape(batch, 1, 1)
    return (projection * scale).reshape(gradients.shape[:-1])
