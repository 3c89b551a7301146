"""Run RecBole 1.2.1 on equirec's leave-one-out split and report comparable numbers.

Runs inside RecBole's own virtual environment, never equirec's (RecBole needs older numpy/pandas)::

    benchmarks/recbole_setup.sh                       # once; creates .bench/recbole-venv
    PY=.bench/recbole-venv/bin/python

    # quick models (seconds to a few minutes)
    $PY benchmarks/recbole_run.py --dataset ml-100k --data-dir /work/shared/datasets/ml-100k \
        --model EASE --seed 2020 --out benchmarks/results/recbole_ease_ml-100k_seed2020.json
    $PY benchmarks/recbole_run.py --dataset ml-100k --data-dir /work/shared/datasets/ml-100k \
        --model Pop --seed 2020 --out benchmarks/results/recbole_pop_ml-100k_seed2020.json

    # SASRec: over an hour on 2 CPU cores; run it in the background, one torch thread, niced
    mkdir -p .bench/logs
    OMP_NUM_THREADS=1 nohup nice -n 5 $PY benchmarks/recbole_run.py --dataset ml-100k \
        --data-dir /work/shared/datasets/ml-100k --model SASRec --seed 2020 --threads 1 \
        --out benchmarks/results/recbole_sasrec_ml-100k_seed2020.json [--stop-by 09:10] \
        > .bench/logs/recbole_sasrec_ml-100k_seed2020.log 2>&1 &
    # --stop-by HH:MM (UTC): end training early, keeping the best checkpoint so far, rather than
    # miss a deadline; the JSON then says "stopped_by_deadline": true.

    # re-evaluate an interrupted run from its best checkpoint (no training); --train-log recovers
    # its per-epoch log, wall time and best epoch from the log's "progress" lines
    $PY benchmarks/recbole_run.py --dataset ml-100k --data-dir /work/shared/datasets/ml-100k \
        --model SASRec --seed 2020 --threads 1 \
        --eval-only .bench/recbole-work/ml-100k-SASRec-seed2020/saved/SASRec-<date>.pth \
        --train-log .bench/logs/recbole_sasrec_ml-100k_seed2020.log --out ...json

``--dataset movielens-small`` reads ``ratings.csv`` (userId,movieId,rating,timestamp; the
ml-latest-small layout) from ``--data-dir``. Raw data is never written into the repository: the
converted atomic file, checkpoints and RecBole's own droppings go to ``--work`` (default
``.bench/recbole-work/<dataset>-<model>-seed<N>``, ignored by git).

Outputs: ``--out`` (JSON: settings, RecBole's numbers, seen-excluded numbers, wall time, peak
memory, epochs, per-epoch log) and, next to it, ``<out stem>_test_items.csv`` (user,item: each
user's test item, original ids), to check equirec's split against.

Protocol (equirec's ``loo``): every interaction counts (no rating threshold, no k-core; RecBole's
own filters are switched off explicitly); each user's interactions in chronological order, ties in
file order; last = test, second-to-last = validation, the rest = training. RecBole stores
timestamps as float32 and re-sorts by them, so the ``.inter`` file carries, instead of the raw
timestamp, each interaction's rank in its user's (timestamp, file order) order: small integers,
exact in float32, same order. The script checks RecBole's valid/test items against an independent
pandas computation and stops if they differ.

Two sets of numbers (NDCG@10, HR@10 = RecBole's ``hit@10``, MRR@10):

- ``recbole``: RecBole's own full-sort evaluation of the best checkpoint. General models (EASE,
  Pop) score from the training interactions only and exclude training AND validation items from the
  test ranking; sequential models (SASRec) exclude nothing (a user's earlier items can be
  recommended and count as misses).
- ``seen_excluded``: the same model's scores (same input as RecBole feeds it: for SASRec the
  sequence of training + validation items), with every item the user interacted with before the
  test item set to -inf; rank of the test item = number of items scoring strictly higher
  (``seen_excluded_pessimistic`` counts ties against it, ``seen_excluded_ties_by_item_id`` breaks
  them by the smaller original item id; they differ only where scores tie, i.e. for Pop).
  This is equirec's protocol. For EASE/Pop it equals ``recbole`` up to tie-breaking.

SASRec settings: RecBole's model defaults (MAX_ITEM_LIST_LENGTH 50, hidden_size 64, n_layers 2,
n_heads 2, inner_size 256, hidden/attn dropout 0.5, adam lr 1e-3, loss CE over all items, no
negative sampling) plus the benchmark's choices that differ from RecBole's global defaults:
train_batch_size 256 (RecBole: 2048), stopping_step 5 (RecBole: 10), valid_metric NDCG@10
(RecBole: MRR@10), epochs 300. RecBole stops when the validation score has been below the best for
stopping_step + 1 consecutive epochs (a tie with the best counts as a new best).
Pop trains with batch size 1 and without negative sampling: RecBole's Pop counts an item once per
batch however often it occurs in it, and with RecBole's default train_neg_sample_args (one uniform
negative per row) it counts the sampled negatives as occurrences too. Its counts are checked
against an independent count of the training rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import sys
import time
from pathlib import Path

# torch 2.6+ defaults torch.load(weights_only=True); RecBole's checkpoints hold a Config object.
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import numpy as np
import pandas as pd

GENERAL = {"EASE", "Pop", "ItemKNN", "BPR"}
SEQUENTIAL = {"SASRec", "BERT4Rec", "GRU4Rec"}


def read_log(dataset: str, data_dir: Path) -> pd.DataFrame:
    """The raw log in file order: user, item, timestamp, order (file position)."""
    if dataset == "ml-100k":
        df = pd.read_csv(
            data_dir / "u.data", sep="\t", names=["user", "item", "rating", "timestamp"]
        )
    elif dataset == "movielens-small":
        df = pd.read_csv(data_dir / "ratings.csv").rename(
            columns={"userId": "user", "movieId": "item"}
        )
    else:
        raise SystemExit(f"unknown dataset {dataset!r}")
    df = df[["user", "item", "timestamp"]].copy()
    df["order"] = np.arange(len(df))
    return df


def rank_log(df: pd.DataFrame) -> pd.DataFrame:
    """Sort by (user, timestamp, file order); add ``rank`` (0-based position in the user's history)
    and ``from_end`` (0 = test, 1 = validation, >= 2 training)."""
    ranked = df.sort_values(["user", "timestamp", "order"], kind="stable").copy()
    ranked["rank"] = ranked.groupby("user").cumcount()
    ranked["from_end"] = ranked.groupby("user")["rank"].transform("max") - ranked["rank"]
    return ranked


def write_atomic_file(ranked: pd.DataFrame, folder: Path, name: str) -> None:
    """``name.inter`` with the within-user rank as timestamp, atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    assert ranked["rank"].max() < 2**24, "rank would not be exact in float32"
    out = ranked[["user", "item", "rank"]].rename(
        columns={"user": "user_id:token", "item": "item_id:token", "rank": "timestamp:float"}
    )
    tmp = folder / f".{name}.inter.tmp"
    out.to_csv(tmp, sep="\t", index=False)
    os.replace(tmp, folder / f"{name}.inter")


def metrics_from_ranks(ranks: np.ndarray) -> dict[str, float]:
    """NDCG@10, HR@10, MRR@10 from 0-based ranks of the single test item."""
    hit = ranks < 10
    return {
        "ndcg@10": float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean()),
        "hit@10": float(hit.mean()),
        "mrr@10": float(np.where(hit, 1.0 / (ranks + 1.0), 0.0).mean()),
    }


class _PlainFormatter(logging.Formatter):
    """RecBole colours its log lines; strip the ANSI codes for the log file."""

    _ansi = re.compile(r"\x1b\[[0-9;]*m")

    def format(self, record: logging.LogRecord) -> str:
        return self._ansi.sub("", super().format(record))


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Run RecBole 1.2.1 on equirec's leave-one-out split (see module docstring)."
    )
    parser.add_argument("--dataset", default="ml-100k", choices=["ml-100k", "movielens-small"])
    parser.add_argument("--data-dir", default="/work/shared/datasets/ml-100k")
    parser.add_argument("--model", default="SASRec", choices=sorted(GENERAL | SEQUENTIAL))
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--stopping-step", type=int, default=5)
    parser.add_argument(
        "--train-batch-size",
        type=int,
        default=None,
        help="default: 256 for sequential models, 1 for Pop, RecBole's default (2048) otherwise",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--work", default=None, help="work folder (default under .bench/)")
    parser.add_argument(
        "--eval-only",
        default=None,
        metavar="CHECKPOINT",
        help="skip training: evaluate this RecBole checkpoint (.pth)",
    )
    parser.add_argument(
        "--train-log",
        default=None,
        metavar="LOG",
        help="with --eval-only: recover the epoch log from this run's log file",
    )
    parser.add_argument(
        "--stop-by",
        default=None,
        metavar="HH:MM",
        help="UTC deadline: stop training (keeping the best checkpoint so far) when the next "
        "epoch would end after it; the result says so",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    repo = Path(__file__).resolve().parent.parent
    out = Path(args.out).resolve()
    data_dir = Path(args.data_dir).resolve()
    eval_only = Path(args.eval_only).resolve() if args.eval_only else None
    train_log = Path(args.train_log).resolve() if args.train_log else None
    tag = f"{args.dataset}-{args.model}-seed{args.seed}"
    work = Path(args.work).resolve() if args.work else repo / ".bench" / "recbole-work" / tag
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)  # RecBole writes log_tensorboard/ etc. into the working directory

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_PlainFormatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    log = logging.getLogger("recbole_run")

    import recbole
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    if args.threads:
        torch.set_num_threads(args.threads)
    name = f"{args.dataset}-loo"  # not "ml-100k": RecBole would load its own ml-100k presets
    ranked = rank_log(read_log(args.dataset, data_dir))
    write_atomic_file(ranked, work / "data" / name, name)

    batch = args.train_batch_size
    if batch is None:
        batch = 256 if args.model in SEQUENTIAL else 1 if args.model == "Pop" else None
    config_dict = {
        "data_path": str(work / "data"),
        "checkpoint_dir": str(work / "saved"),
        "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id",
        "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        # No filtering of any kind (these are RecBole's defaults too, stated for the record).
        "val_interval": None,
        "threshold": None,
        "rm_dup_inter": None,
        "filter_inter_by_user_or_item": True,
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
        "metric_decimal_place": 6,
        "seed": args.seed,
        "reproducibility": True,
        "epochs": args.epochs,
        "stopping_step": args.stopping_step,
        "show_progress": False,
        "device": "cpu",
        "use_gpu": False,
        "save_dataset": False,
        "save_dataloaders": False,
    }
    if batch is not None:
        config_dict["train_batch_size"] = batch
    if args.model in SEQUENTIAL:
        config_dict.update({"loss_type": "CE", "train_neg_sample_args": None})
    if args.model == "Pop":
        # RecBole's default samples one uniform negative per training row and Pop counts those
        # rows too (noise of ~rows/items per item); count positives only.
        config_dict["train_neg_sample_args"] = None
    config = Config(model=args.model, dataset=name, config_dict=config_dict)
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"] + config["local_rank"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    uid_field, iid_field = dataset.uid_field, dataset.iid_field
    sequential = args.model in SEQUENTIAL

    def pairs(loader) -> pd.DataFrame:
        """(user, target item, last input item or -1) of an evaluation loader, original ids."""
        rows = []
        for interaction, _, positive_u, positive_i in loader:
            users = interaction[uid_field].numpy()[positive_u.numpy()]
            last = np.full(len(users), "-1", dtype=object)
            if sequential:
                lists = interaction[config["ITEM_ID_FIELD"] + config["LIST_SUFFIX"]].numpy()
                lens = interaction[config["ITEM_LIST_LENGTH_FIELD"]].numpy()
                last = dataset.id2token(iid_field, lists[np.arange(len(lens)), lens - 1])
            rows.append(
                pd.DataFrame(
                    {
                        "user": dataset.id2token(uid_field, users).astype(np.int64),
                        "item": dataset.id2token(iid_field, positive_i.numpy()).astype(np.int64),
                        "last_input": np.asarray(last).astype(np.int64),
                    }
                )
            )
        return pd.concat(rows).sort_values("user").reset_index(drop=True)

    # Split check: RecBole's validation and test items against an independent computation.
    expected = {
        k: ranked[ranked["from_end"] == d][["user", "item"]]
        .sort_values("user")
        .reset_index(drop=True)
        for k, d in (("valid", 1), ("test", 0))
    }
    got_valid, got_test = pairs(valid_data), pairs(test_data)
    for k, got in (("valid", got_valid), ("test", got_test)):
        if not got[["user", "item"]].equals(expected[k]):
            raise SystemExit(f"RecBole's {k} items differ from the expected leave-one-out split")
    # sequential models: each test input sequence must end with the user's validation item
    last_is_valid = got_test["last_input"].to_numpy() == expected["valid"]["item"].to_numpy()
    if sequential and not last_is_valid.all():
        raise SystemExit("RecBole's test sequences do not end with the validation item")
    n_train = len(train_data._dataset)
    log.info(
        "split check ok: %d users, %d train rows (RecBole), valid/test items as expected",
        len(got_test),
        n_train,
    )

    epochs: list[dict] = []
    t0 = time.perf_counter()
    last = [t0]
    deadline = None
    if args.stop_by:
        hh, mm = (int(x) for x in args.stop_by.split(":"))
        now_utc = time.gmtime()
        minutes = (hh * 60 + mm) - (now_utc.tm_hour * 60 + now_utc.tm_min)
        deadline = time.time() + minutes * 60 - now_utc.tm_sec
        if deadline < time.time() - 12 * 3600:  # e.g. 00:30 given at 23:00: tomorrow
            deadline += 86400

    class _Deadline(Exception):
        pass

    stopped_by_deadline = False

    def on_epoch(epoch_idx: int, valid_score: float) -> None:
        now = time.perf_counter()
        epochs.append(
            {
                "epoch": epoch_idx,
                "valid_ndcg@10": float(valid_score),
                "seconds": now - last[0],
                "best": trainer.cur_step == 0,
            }
        )
        last[0] = now
        log.info(
            "progress epoch=%d valid_ndcg@10=%.6f epoch_s=%.1f elapsed_s=%.0f best=%s cur_step=%d",
            epoch_idx,
            valid_score,
            epochs[-1]["seconds"],
            now - t0,
            epochs[-1]["best"],
            trainer.cur_step,
        )
        sys.stdout.flush()
        if deadline is not None and time.time() + 1.2 * epochs[-1]["seconds"] > deadline:
            log.info("stopping: the next epoch would end after --stop-by %s", args.stop_by)
            raise _Deadline

    if eval_only is None:
        try:
            trainer.fit(
                train_data, valid_data, saved=True, show_progress=False, callback_fn=on_epoch
            )
        except _Deadline:
            stopped_by_deadline = True
        checkpoint_file = trainer.saved_model_file
        train_seconds: float | None = time.perf_counter() - t0
    else:
        checkpoint_file = str(eval_only)
        train_seconds = None
        if train_log:  # recover the epoch log of the run that wrote the checkpoint
            pat = re.compile(
                r"progress epoch=(\d+) valid_ndcg@10=([\d.]+) epoch_s=([\d.]+) "
                r"elapsed_s=(\d+) best=(True|False)"
            )
            for line in train_log.read_text(errors="replace").splitlines():
                m = pat.search(line)
                if m:
                    epochs.append(
                        {
                            "epoch": int(m[1]),
                            "valid_ndcg@10": float(m[2]),
                            "seconds": float(m[3]),
                            "best": m[5] == "True",
                        }
                    )
                    train_seconds = float(m[4])
    # Loads the best checkpoint into `model` (trainer.model is model).
    recbole_test = trainer.evaluate(
        test_data, load_best_model=True, model_file=checkpoint_file, show_progress=False
    )
    checkpoint = torch.load(checkpoint_file, map_location="cpu", weights_only=False)

    if args.model == "Pop":  # independent count of training occurrences
        counts = np.bincount(
            train_data._dataset.inter_feat[iid_field].numpy(), minlength=dataset.item_num
        )
        pop_diff = int(np.abs(model.item_cnt[:, 0].numpy() - counts).max())
        if pop_diff:
            raise SystemExit(f"RecBole Pop counts differ from an independent count by {pop_diff}")

    # Our evaluation of the same (best) model: mask everything before the test item.
    before = ranked[ranked["from_end"] >= 1]
    seen = {
        int(dataset.token2id(uid_field, str(u))): dataset.token2id(iid_field, [str(i) for i in g])
        for u, g in before.groupby("user")["item"]
    }
    model.eval()
    lo, hi, by_id, users_all, targets_all = [], [], [], [], []
    # original id of each internal item id (0 = padding)
    item_ids = torch.as_tensor(np.r_[-1, dataset.field2id_token[iid_field][1:].astype(np.int64)])
    with torch.no_grad():
        for interaction, _, positive_u, positive_i in test_data:
            scores = model.full_sort_predict(interaction).view(-1, dataset.item_num).double()
            scores[:, 0] = -torch.inf  # padding item
            users = interaction[uid_field].numpy()
            for row, user in enumerate(users):
                scores[row, torch.as_tensor(seen[int(user)])] = -torch.inf
            target = torch.full((len(users),), -1, dtype=torch.long)
            target[positive_u] = positive_i
            assert (target > 0).all()
            t_scores = scores[torch.arange(len(users)), target][:, None]
            assert torch.isfinite(t_scores).all()
            lo.append((scores > t_scores).sum(1).numpy())
            hi.append((scores >= t_scores).sum(1).numpy() - 1)
            # ties broken by the smaller original item id
            tie = (scores == t_scores) & (item_ids[None, :] < item_ids[target][:, None])
            by_id.append(lo[-1] + tie.sum(1).numpy())
            users_all.append(users)
            targets_all.append(target.numpy())
    rank_lo, rank_hi, rank_id = np.concatenate(lo), np.concatenate(hi), np.concatenate(by_id)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    keys = [
        "train_batch_size",
        "eval_batch_size",
        "epochs",
        "stopping_step",
        "learning_rate",
        "learner",
        "weight_decay",
        "valid_metric",
        "eval_args",
        "repeatable",
        "loss_type",
        "train_neg_sample_args",
        "MAX_ITEM_LIST_LENGTH",
        "hidden_size",
        "inner_size",
        "n_layers",
        "n_heads",
        "hidden_dropout_prob",
        "attn_dropout_prob",
        "hidden_act",
        "reg_weight",
        "val_interval",
        "threshold",
        "rm_dup_inter",
        "user_inter_num_interval",
        "item_inter_num_interval",
        "seed",
        "reproducibility",
    ]
    settings = {k: config[k] for k in keys if k in config.final_config_dict}
    best_epochs = [e["epoch"] for e in epochs if e["best"]]
    result = {
        "library": "recbole",
        "versions": {
            "recbole": recbole.__version__,
            "torch": torch.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "python": sys.version.split()[0],
        },
        "dataset": args.dataset,
        "model": args.model,
        "seed": args.seed,
        "split": "leave-one-out per user: chronological (timestamp, then file order); last = test, "
        "second-to-last = valid; every interaction counts; checked against pandas",
        "n_users": len(got_test),
        "n_items": int(dataset.item_num - 1),
        "n_interactions": len(ranked),
        "n_train_rows_recbole": int(n_train),
        "settings": json.loads(json.dumps(settings, default=str)),
        "recbole": {k: float(v) for k, v in recbole_test.items()},
        "recbole_excludes_seen": (
            "train+valid items excluded (general model)"
            if not sequential
            else "nothing excluded (sequential model)"
        ),
        "seen_excluded": metrics_from_ranks(rank_lo),
        "seen_excluded_pessimistic": metrics_from_ranks(rank_hi),
        "seen_excluded_ties_by_item_id": metrics_from_ranks(rank_id),
        "users_with_tied_target_in_top10": int(((rank_hi != rank_lo) & (rank_lo < 10)).sum()),
        "test_users": len(rank_lo),
        "eval_only": eval_only is not None,
        "checkpoint": str(checkpoint_file),
        "checkpoint_epoch": int(checkpoint.get("epoch", -1)),
        "best_valid_ndcg@10": float(checkpoint.get("best_valid_score", float("nan"))),
        "train_seconds": train_seconds,
        "epochs_run": len(epochs) or None,
        "best_epoch": best_epochs[-1] if best_epochs else None,
        "stopped_by_deadline": stopped_by_deadline,
        "training_complete": None if eval_only else not stopped_by_deadline,
        "epoch_log": epochs,
        "peak_memory_mb": peak_mb,
        "torch_threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "niceness": os.nice(0),
        "argv": sys.argv,
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    if args.model == "Pop":
        result["pop_count_check"] = "item counts equal an independent count of training rows"
    test_items = pd.DataFrame(
        {
            "user": dataset.id2token(uid_field, np.concatenate(users_all)).astype(np.int64),
            "item": dataset.id2token(iid_field, np.concatenate(targets_all)).astype(np.int64),
        }
    ).sort_values("user")
    atomic_write_text(out.with_name(out.stem + "_test_items.csv"), test_items.to_csv(index=False))
    atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    log.info("wrote %s", out)
    print(
        json.dumps(
            {
                k: result[k]
                for k in (
                    "recbole",
                    "seen_excluded",
                    "train_seconds",
                    "epochs_run",
                    "peak_memory_mb",
                )
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
