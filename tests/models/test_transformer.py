import pytest
import torch

from equirec.models.transformer import Dropout, SequenceTransformer


def _model(causal: bool) -> SequenceTransformer:
    torch.manual_seed(0)
    return SequenceTransformer(
        n_items=12, max_len=6, dim=8, layers=2, heads=2, dropout=0.0, causal=causal
    ).eval()


def test_causal_outputs_ignore_later_items():
    m = _model(causal=True)
    a = torch.tensor([[1, 2, 3, 4, 5, 6]])
    b = torch.tensor([[1, 2, 3, 9, 10, 11]])
    with torch.no_grad():
        ha, hb = m(a), m(b)
    torch.testing.assert_close(ha[:, :3], hb[:, :3])
    assert not torch.allclose(ha[:, 3:], hb[:, 3:])


def test_bidirectional_outputs_see_later_items():
    m = _model(causal=False)
    with torch.no_grad():
        ha = m(torch.tensor([[1, 2, 3, 4, 5, 6]]))
        hb = m(torch.tensor([[1, 2, 3, 9, 10, 11]]))
    assert not torch.allclose(ha[:, :3], hb[:, :3])


def test_padding_is_invisible_and_trimming_it_changes_nothing():
    for causal in (True, False):
        m = _model(causal)
        padded = torch.tensor([[0, 0, 0, 4, 5, 6], [0, 0, 7, 8, 9, 10]])
        with torch.no_grad():
            full = m(padded)
            trimmed = m(padded[:, 2:])
            other_pad_items = m(torch.tensor([[0, 0, 0, 4, 5, 6]]))
        assert torch.isfinite(full).all()
        torch.testing.assert_close(full[:, 2:], trimmed)
        torch.testing.assert_close(full[0, 3:], other_pad_items[0, 3:])


def test_content_features_enter_the_item_table():
    torch.manual_seed(0)
    feats = torch.zeros(12, 3)
    feats[0, 1] = 1.0
    m = SequenceTransformer(n_items=12, max_len=4, dim=8, item_features=feats)
    table = m.item_table()
    assert table.shape == (13, 8)
    torch.testing.assert_close(table[0], torch.zeros(8))  # padding stays zero
    torch.testing.assert_close(table[1] - m.item_emb.weight[1], m.content_proj.weight[:, 1])
    torch.testing.assert_close(table[2], m.item_emb.weight[2])


@pytest.mark.parametrize("causal", [True, False])
def test_last_only_equals_the_last_position_of_the_full_pass(causal):
    m = _model(causal=causal)
    tokens = torch.tensor([[0, 0, 3, 4, 5, 6], [1, 2, 3, 9, 10, 11]])
    with torch.no_grad():
        torch.testing.assert_close(m(tokens, last_only=True), m(tokens)[:, -1])


def test_dropout_keeps_the_expectation_and_is_off_in_eval():
    torch.manual_seed(0)
    drop = Dropout(0.3)
    x = torch.ones(200_000)
    y = drop(x)
    assert torch.unique(y).tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert abs((y == 0).float().mean().item() - 0.3) < 0.01
    assert abs(y.mean().item() - 1.0) < 0.01
    assert torch.equal(drop.eval()(x), x)
    with pytest.raises(ValueError, match="dropout"):
        Dropout(1.0)
