"""The argument parser: every subcommand, its flags and help (method lists from the registry)."""

from __future__ import annotations

import argparse

from equirec.cli.flags import log_flags
from equirec.cli.parser_studies import add_study_commands
from equirec.explain.methods import METHODS
from equirec.mitigation.registry import RERANKERS, TRAINING_METHODS

__all__ = ["build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="equirec",
        description="Recommenders whose fairness is measured and mitigated, not assumed.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="train a model, evaluate it by full ranking, write a run folder",
        description="Train a model, evaluate it by full ranking and write a run folder. "
        "Training-time bias mitigation comes from the config file's [mitigation] section, e.g. "
        'method = "adversary" and params = { attributes = ["gender"], lam = 1.0 }; methods: '
        f"{', '.join(TRAINING_METHODS)}.",
    )
    src = run.add_mutually_exclusive_group()
    src.add_argument("--dataset", help="built-in dataset (see `equirec datasets`)")
    src.add_argument("--interactions", help="CSV or Parquet interaction log")
    run.add_argument("--data-dir", help="folder with the GroupLens files (ml-100k, ml-1m, ...)")
    run.add_argument(
        "--columns",
        help="column mapping for --interactions, e.g. user=uid,item=movie,timestamp=ts",
    )
    run.add_argument("--sep", help="field separator of the CSV files (default: sniffed)")
    run.add_argument("--user-attributes", help="CSV/Parquet of user attributes")
    run.add_argument("--item-attributes", help="CSV/Parquet of item attributes")
    run.add_argument(
        "--user-key", help="id column of --user-attributes (default: the log's user column)"
    )
    run.add_argument(
        "--item-key", help="id column of --item-attributes (default: the log's item column)"
    )
    run.add_argument(
        "--multi-valued",
        nargs="+",
        metavar="COLUMN=SEP",
        help="attribute columns holding several labels and their separator, e.g. genres='|'",
    )
    run.add_argument(
        "--duplicates",
        choices=["keep", "first", "last"],
        help="repeated (user, item) pairs: keep all (default), or the first / last of each",
    )
    run.add_argument(
        "--exact-duplicates",
        choices=["drop", "keep"],
        help="rows identical in user, item, timestamp and rating: drop (default, warned) or keep",
    )
    run.add_argument("--user-core", type=int, help="drop users with fewer interactions (k-core)")
    run.add_argument("--item-core", type=int, help="drop items with fewer interactions (k-core)")
    run.add_argument("--model", help="model name (see `equirec models`)")
    run.add_argument(
        "--split",
        choices=["loo", "temporal", "random", "cold-items"],
        help="split method (cold-items: leave-one-out, the newest items never trained on)",
    )
    run.add_argument(
        "--cold-frac",
        type=float,
        help="share of the items that are cold under --split cold-items (default 0.2)",
    )
    run.add_argument(
        "--holdout-users",
        type=float,
        help="share of the users held out of training entirely, the non-members of the "
        "audit's membership attack (default 0)",
    )
    run.add_argument("--seed", type=int, help="one seed for everything (default 0)")
    run.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="train in this many processes on torch.distributed (data parallel, launched by "
        "torchrun; gloo on CPU, NCCL with one GPU each); default 1",
    )
    run.add_argument("--epochs", type=int, help="maximum training epochs (iterative models)")
    run.add_argument("--min-rating", type=float, help="keep interactions rated at least this")
    run.add_argument("--ks", type=int, nargs="+", help="cut-offs of the metrics (default 5 10 20)")
    run.add_argument(
        "--keep-k",
        type=int,
        help="length of the stored recommendation lists, the re-rankers' candidates (default 100)",
    )
    run.add_argument(
        "--config",
        help="TOML config file (seed, out, [data], [preprocess], [split], [model], [mitigation], "
        "[evaluation]); flags override it",
    )
    run.add_argument("--out", help="output folder (default: a new folder under runs/)")
    run.add_argument(
        "--overwrite", action="store_true", help="replace the output folder if it holds files"
    )
    log_flags(run)
    run.add_argument(
        "--audit", action="store_true", help="also audit fairness (audit.json, audit.html)"
    )

    cold = sub.add_parser(
        "coldstart",
        help="a run's model by how many known items it is given (cold users): cold_users.csv",
        description="Rank every test user from only the last N items of what the run knew (for "
        "each N), score the test items, and write the metrics per N into cold_users.csv in the "
        "run folder. The same users (those with at least the longest N known items) are "
        "evaluated at every length.",
    )
    cold.add_argument("run_dir", help="a folder written by `equirec run` (with a saved model)")
    cold.add_argument(
        "--lengths",
        type=int,
        nargs="+",
        default=[1, 2, 3, 5, 10, 20],
        help="history lengths (default 1 2 3 5 10 20)",
    )
    cold.add_argument("--ks", type=int, nargs="+", default=[10], help="cut-offs (default 10)")
    cold.add_argument(
        "--attributes",
        nargs="+",
        default=[],
        help="categorical user attributes whose groups are compared at every length "
        "(the audit's gap test and intervals): cold_users_gaps.csv",
    )
    log_flags(cold)

    aud = sub.add_parser(
        "audit", help="fairness audit of a run folder: writes audit.json and audit.html into it"
    )
    aud.add_argument("run_dir", help="a folder written by `equirec run`")
    _audit_flags(aud)
    aud.add_argument(
        "--shadows",
        type=int,
        default=0,
        help="shadow models of the shadow membership attack, each a retraining of the run's "
        "model (default 0: the rank attack only; both need split.holdout_users)",
    )
    log_flags(aud)

    rec = sub.add_parser(
        "recommend",
        help="recommendations of a saved run: for users it knows, or from given histories",
        description="Top-k recommendations of a run's saved model in original ids (CSV on "
        "standard output unless --out). A known user is ranked from what the run knew before "
        "the test, so --all --k 10 reproduces recommendations.csv; --history ranks new users "
        "or sessions from the items given.",
    )
    rec.add_argument("run_dir", help="a folder written by `equirec run`")
    who = rec.add_mutually_exclusive_group(required=True)
    who.add_argument("--all", action="store_true", dest="all_users", help="every known user")
    who.add_argument("--users", nargs="+", metavar="ID", help="ids of users the run knows")
    who.add_argument("--users-file", help="file of user ids (one per line, or a user column)")
    who.add_argument(
        "--history", help="CSV/Parquet of user, item (and timestamp) rows: new users or sessions"
    )
    rec.add_argument("--k", type=int, default=10, help="list length (default 10)")
    rec.add_argument("--rerank", dest="policy", metavar="METHOD", help="a re-ranker as policy")
    rec.add_argument(
        "--param", action="append", default=[], help="the policy's parameter key=value"
    )
    rec.add_argument(
        "--depth", type=int, default=100, help="candidates the policy re-ranks (default 100)"
    )
    rec.add_argument("--out", help="FILE.csv, FILE.jsonl or FILE.parquet (default: stdout)")
    rec.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    log_flags(rec)

    exp = sub.add_parser(
        "explain",
        help="why a run's model recommended an item to a user, in words and numbers",
        description="Explain a user's first recommendation (or --item) as the run ranked it. "
        "counterfactual (default for SASRec, BERT4Rec, EASE, item-kNN, content-kNN): the fewest "
        "past items whose removal takes the item out of the top k, checked by re-scoring; loo: "
        "each past item's leave-one-out effect; ig: integrated gradients (sequence models, "
        "pip install 'equirec[explain]'); attention: the last block's attention (a comparison, "
        "not a faithful attribution); model: a baseline's own weights (EASE, item-kNN, "
        "content-kNN), BPR's nearest past items, popularity.",
    )
    exp.add_argument("run_dir", help="a folder written by `equirec run` (with a saved model)")
    who = exp.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", metavar="ID", help="the user's id")
    who.add_argument(
        "--all",
        action="store_true",
        dest="all_users",
        help="every test user's first recommendation: explanations.csv in the run folder, "
        "with the validity and size of the explanations by --attributes group",
    )
    exp.add_argument(
        "--attributes",
        nargs="+",
        default=[],
        help="with --all: categorical user attributes whose groups are compared (the audit's "
        "gap test and intervals): explanations_gaps.csv",
    )
    exp.add_argument("--item", metavar="ID", help="an item of the user's list (default: the first)")
    exp.add_argument("--k", type=int, default=10, help="list length (default 10)")
    exp.add_argument("--method", choices=METHODS, help="default: counterfactual, or model")
    exp.add_argument("--top", type=int, default=5, help="past items an attribution names")
    exp.add_argument(
        "--max-size", type=int, default=10, help="largest counterfactual set tried (default 10)"
    )
    exp.add_argument(
        "--format", choices=("text", "json", "csv"), default="text", help="output (default text)"
    )
    exp.add_argument("--out", help="write to this file instead of standard output")
    exp.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    log_flags(exp)

    srv = sub.add_parser(
        "serve",
        help="serve a run's recommendations over HTTP (needs the serve extra)",
        description="Serve a saved run over HTTP (FastAPI + uvicorn): POST /recommend, POST "
        "/explain, GET /items/ID, GET /users, GET /users/ID/history, GET /health, GET /run, "
        "docs at /docs, a page at /. The run is loaded once at start-up. "
        "It binds to 127.0.0.1: put a reverse proxy with TLS, authentication and rate limits "
        "in front of it before exposing it. Install with pip install 'equirec[serve]'.",
    )
    srv.add_argument("run_dir", help="a folder written by `equirec run`")
    srv.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    srv.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    srv.add_argument(
        "--workers", type=int, default=1, help="processes, each loading the run (default 1)"
    )
    srv.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads per worker (default 1; 0 for torch's default)",
    )
    srv.add_argument(
        "--policy",
        metavar="FILE.toml",
        help="the service's fairness policy: a re-ranker applied to every known user's list "
        "whose request names none (TOML: method, depth, [params])",
    )
    srv.add_argument(
        "--no-access-log", action="store_true", help="do not log every request (uvicorn's log)"
    )
    log_flags(srv)

    rr = sub.add_parser(
        "rerank", help="re-rank a run's stored top lists (fairness post-processing)"
    )
    rr.add_argument("run_dir", help="a folder written by `equirec run`")
    rr.add_argument(
        "--method",
        required=True,
        help=f"{', '.join(RERANKERS)}; chain with +: calibrated+fair (`equirec methods NAME` "
        "lists a method's parameters)",
    )
    rr.add_argument("--param", action="append", default=[], help="re-ranker parameter key=value")
    rr.add_argument("--k", type=int, default=10, help="length of the re-ranked lists (default 10)")
    rr.add_argument(
        "--depth", type=int, help="candidates: the saved model's top DEPTH (default: stored 100)"
    )
    _deepen_flag(rr)
    rr.add_argument("--out", help="output folder (default RUN_DIR-METHOD)")
    rr.add_argument(
        "--overwrite", action="store_true", help="replace the output folder if it holds files"
    )
    rr.add_argument("--audit", action="store_true", help="also audit the re-ranked lists")
    log_flags(rr)

    sw = sub.add_parser(
        "sweep",
        help="accuracy/fairness trade-off of a mitigation method over a grid of strengths",
        description="Accuracy/fairness trade-off over a grid, with a Pareto page. A re-ranker "
        "re-ranks the run's stored lists at every point; a training-time method retrains the "
        "run's model at every point (same data, split and seed). The baseline is the run as "
        "stored.",
    )
    sw.add_argument("run_dir", help="a folder written by `equirec run`")
    sw.add_argument(
        "--method",
        required=True,
        help=f"re-ranker ({', '.join(RERANKERS)}) or training-time method, retrained per point "
        f"({', '.join(TRAINING_METHODS)}), or privacy: DP-SGD's settings, retrained per point "
        "(e.g. --grid epsilon=1,3,8,inf --param attribute=gender)",
    )
    sw.add_argument(
        "--grid",
        action="append",
        required=True,
        help="parameter values, e.g. p=0.1,0.3,0.5 or lam=0.5,1",
    )
    sw.add_argument(
        "--param",
        action="append",
        default=[],
        help="fixed parameter key=value, e.g. attributes=gender",
    )
    sw.add_argument("--k", type=int, default=10, help="length of the audited lists (default 10)")
    sw.add_argument(
        "--fairness-metric",
        help="metric traded against NDCG (default per method: "
        + "; ".join(
            f"{m.name}: {m.fairness}" for m in (*RERANKERS.values(), *TRAINING_METHODS.values())
        )
        + "; a user-group gap becomes exposure_gap where the method balances an item attribute)",
    )
    sw.add_argument(
        "--depth",
        type=int,
        help="re-rankers only: candidates from the saved model's top DEPTH (default: stored 100)",
    )
    _deepen_flag(sw)
    sw.add_argument("--out", help="output folder (default RUN_DIR/sweep-METHOD)")
    sw.add_argument(
        "--overwrite", action="store_true", help="replace the output folder if it holds files"
    )
    log_flags(sw)

    add_study_commands(sub)

    sub.add_parser("datasets", help="list the built-in datasets")
    sub.add_parser("models", help="list the available models")
    me = sub.add_parser(
        "methods",
        help="list the mitigation methods, or one method's parameters with defaults and meaning",
    )
    me.add_argument("name", nargs="?", help="a method (e.g. fair, adversary)")
    me.add_argument(
        "--markdown",
        action="store_true",
        help="print Markdown tables (the README's methods section) instead",
    )
    return parser


def _audit_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--attributes", nargs="+", help="user attributes to audit (default: all, plus activity)"
    )
    parser.add_argument("--k", type=int, help="cut-off of the audited metrics (default 10)")
    parser.add_argument(
        "--intersect", nargs="+", default=[], help="crossed attributes, e.g. gender*age_band"
    )
    parser.add_argument("--n-boot", type=int, help="bootstrap resamples (default 1000)")


def _deepen_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-deepen",
        dest="deepen",
        action="store_false",
        help="a re-ranker with a guarantee (fair, detconstsort) keeps to the first candidates: "
        "lists that cannot meet it are only reported, not re-ranked from deeper candidates of "
        "the saved model",
    )
