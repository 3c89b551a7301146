"""EASE^R (Steck 2019): a closed-form item-item linear autoencoder with a zero diagonal."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import ConfigError, EquirecError
from equirec.models.base import Recommender
from equirec.models.itemknn import cooccurrence_columns
from equirec.models.registry import register
from equirec.training.device import resolve_device

DEFAULT_L2 = 250.0
"""RecBole's ``reg_weight`` default for EASE (``recbole/properties/model/EASE.yaml``)."""


def ease_weights(
    x: sp.csr_matrix,
    *,
    l2: float,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """The EASE^R weight matrix of a binary interaction matrix.

    ``G = XᵀX + l2·I``, ``P = G⁻¹``, ``B = -P / diag(P)`` column-wise (``B_ij = -P_ij / P_jj``),
    ``diag(B) = 0``. ``G`` is symmetric positive definite for ``l2 > 0``, so it is inverted through
    its Cholesky factor.

    Args:
        x: ``(n_users, n_items)`` binary interaction matrix.
        l2: The ridge penalty ``λ``.
        device: Where to invert (a GPU is much faster for large catalogues).
        dtype: Precision of the factorisation: float64 (default, exact to ~1e-12) or float32
            (half the memory and about twice as fast on CPUs; fine for ``l2`` well above 0).

    Returns:
        ``(n_items, n_items)`` tensor of ``dtype`` on ``device``; row = input item, column =
        target item.
    """
    n_items = x.shape[1]
    gram = np.empty((n_items, n_items), dtype=np.float64)
    for start, block in cooccurrence_columns(x):
        gram[:, start : start + block.shape[1]] = block
    g = torch.from_numpy(gram).to(device=device, dtype=dtype)
    del gram
    g.diagonal().add_(l2)
    factor, info = torch.linalg.cholesky_ex(g)
    del g
    if int(info) != 0:
        raise EquirecError(
            f"ease: XᵀX + l2·I is not positive definite with l2={l2!r}; use a larger l2 (> 0)"
        )
    p = torch.cholesky_inverse(factor)
    del factor
    if not p.is_contiguous() and p.T.is_contiguous():
        p = p.T  # LAPACK returns column-major; P is symmetric, so its transpose is a row-major view
    p.div_(-p.diagonal().clone())
    p.fill_diagonal_(0.0)
    return p


@register
class EASE(Recommender):
    """EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019).

    Learns an item x item matrix ``B`` minimising ``‖X - XB‖² + λ‖B‖²`` subject to
    ``diag(B) = 0`` on the binarised interaction matrix ``X``, in closed form (one
    ``n_items x n_items`` inverse, in float64 unless ``precision="float32"``). A user's scores
    are ``x_u @ B``, with ``x_u`` the user's history at prediction time (later interactions
    count without refitting).

    Memory is dominated by a few dense ``n_items²`` matrices (about 18 GB at 27k items in
    float64, half that in float32).

    Args:
        l2: The ridge penalty ``λ``; the default 250.0 is RecBole's ``reg_weight`` default, so
            results compare with RecBole's EASE. Steck reports best values around 200-1000 on
            MovieLens-20M-sized data; tune it on validation data.
        device: Where to compute the inverse: ``"auto"`` (CUDA when present), ``"cpu"``...
            Scoring always runs on the CPU.
        precision: ``"float64"`` (default) or ``"float32"`` for the inverse.

    Attributes:
        coef_: ``(n_items, n_items)`` float32 ``B`` (row: history item, column: target item).
    """

    name = "ease"

    def __init__(
        self, *, l2: float = DEFAULT_L2, device: str = "auto", precision: str = "float64"
    ) -> None:
        self.l2 = l2
        self.device = device
        self.precision = precision

    def _fit(self, train: History, *, valid: History | None, dataset: Dataset) -> None:
        if not float(self.l2) > 0:
            raise ConfigError(f"ease: l2 must be > 0, not {self.l2!r}")
        dtypes = {"float64": torch.float64, "float32": torch.float32}
        if self.precision not in dtypes:
            raise ConfigError(
                f"ease: precision must be 'float64' or 'float32', not {self.precision!r}"
            )
        device = resolve_device(self.device)
        b = ease_weights(
            train.csr(binary=True), l2=float(self.l2), device=device, dtype=dtypes[self.precision]
        )
        self.coef_ = b.to(device="cpu", dtype=torch.float32).contiguous()

    def _score(self, users: np.ndarray, history: History) -> torch.Tensor:
        scores = history.rows(users) @ self.coef_.numpy()
        return torch.from_numpy(np.asarray(scores, dtype=np.float32))

    def _state(self) -> dict[str, torch.Tensor]:
        return {"coef": self.coef_}

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.coef_ = state["coef"]
