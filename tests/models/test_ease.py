import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError
from equirec.models.ease import EASE
from equirec.testing import RecommenderChecks


class TestEASE(RecommenderChecks):
    def model_factory(self) -> EASE:
        return EASE(l2=10.0, device="cpu")


def test_weights_match_an_independent_closed_form(make_dataset):
    x = np.array([[1, 1, 0, 0, 1], [1, 1, 1, 0, 0], [0, 1, 1, 0, 0], [1, 0, 0, 1, 1]], float)
    lam = 0.7
    # Steck (2019), eq. 8: B = I - P diagMat(1 / diag(P)) with P = (XᵀX + λI)⁻¹
    p = np.linalg.inv(x.T @ x + lam * np.eye(5))
    expected = np.eye(5) - p / np.diag(p)
    model = EASE(l2=lam, device="cpu").fit(make_dataset(x.astype(int).tolist()))
    np.testing.assert_allclose(model.coef_.numpy(), expected, rtol=1e-5, atol=1e-6)
    scores = model.score_users(np.arange(4))
    np.testing.assert_allclose(scores.numpy(), x @ expected, rtol=1e-5, atol=1e-5)


def test_defaults_follow_recbole():
    assert EASE().l2 == 250.0


def test_rejects_non_positive_l2(make_dataset):
    with pytest.raises(ConfigError, match="l2"):
        EASE(l2=0.0).fit(make_dataset([[1, 0], [0, 1]]))


def test_float32_precision_agrees_with_float64():
    rng = np.random.default_rng(0)
    x = (rng.random((200, 60)) < 0.1).astype(int)
    rows, cols = np.nonzero(x)
    data = Dataset(
        interactions=pd.DataFrame({"user": rows, "item": cols, "timestamp": np.arange(len(rows))})
    )
    b64 = EASE(l2=20.0, device="cpu").fit(data).coef_.numpy()
    b32 = EASE(l2=20.0, device="cpu", precision="float32").fit(data).coef_.numpy()
    np.testing.assert_allclose(b32, b64, atol=1e-5)
    with pytest.raises(ConfigError, match="precision"):
        EASE(precision="half").fit(data)
