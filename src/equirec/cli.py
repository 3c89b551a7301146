"""The ``equirec`` command line.

Every user-fixable problem ends with a one-line ``error: ...`` message and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from equirec.errors import EquirecError
from equirec.mitigation.registry import RERANKERS, TRAINING_METHODS

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from equirec.workflows.config import RunConfig


def _parser() -> argparse.ArgumentParser:
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
    run.add_argument("--user-attributes", help="CSV/Parquet of user attributes")
    run.add_argument("--item-attributes", help="CSV/Parquet of item attributes")
    run.add_argument("--model", help="model name (see `equirec models`)")
    run.add_argument("--split", choices=["loo", "temporal", "random"], help="split method")
    run.add_argument("--seed", type=int, help="one seed for everything (default 0)")
    run.add_argument("--epochs", type=int, help="maximum training epochs (iterative models)")
    run.add_argument("--min-rating", type=float, help="keep interactions rated at least this")
    run.add_argument(
        "--config",
        help="TOML config file (seed, out, [data], [preprocess], [split], [model], [mitigation], "
        "[evaluation]); flags override it",
    )
    run.add_argument("--out", help="output folder (default: a new folder under runs/)")
    _log_flags(run)
    run.add_argument(
        "--audit", action="store_true", help="also audit fairness (audit.json, audit.html)"
    )

    aud = sub.add_parser(
        "audit", help="fairness audit of a run folder: writes audit.json and audit.html into it"
    )
    aud.add_argument("run_dir", help="a folder written by `equirec run`")
    _audit_flags(aud)
    _log_flags(aud)

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
    rr.add_argument("--out", help="output folder (default RUN_DIR-METHOD)")
    rr.add_argument("--audit", action="store_true", help="also audit the re-ranked lists")
    _log_flags(rr)

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
        f"({', '.join(TRAINING_METHODS)})",
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
    sw.add_argument("--out", help="output folder (default RUN_DIR/sweep-METHOD)")
    _log_flags(sw)

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


def _log_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="warnings only: no progress bars or lines"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", help="also debugging detail (every epoch)"
    )


class _ProgressHandler(logging.StreamHandler):
    """Writes records through tqdm, so that a line does not break a progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm.auto import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:
            self.handleError(record)


class _ShortFormatter(logging.Formatter):
    """INFO as the bare message; other levels prefixed, e.g. ``warning: ...``."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno == logging.INFO else f"{record.levelname.lower()}: {text}"


def _setup_logging(args: argparse.Namespace) -> Callable[[], None]:
    """The ``equirec`` logger to stderr: INFO, WARNING (--quiet), DEBUG (-v); returns the undo."""
    level = logging.INFO
    if getattr(args, "quiet", False):
        level = logging.WARNING
    elif getattr(args, "verbose", False):
        level = logging.DEBUG
    logger = logging.getLogger("equirec")
    handler = _ProgressHandler(sys.stderr)
    handler.setFormatter(_ShortFormatter())
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return undo


def _audit_summary(console: Console, result: Any, path: Any) -> None:
    findings = [f for f in result.summary if f["significant"]]
    console.print(f"fairness audit: {len(findings)} significant finding(s)")
    for f in findings[:8]:
        console.print(f"  - {f['text']}")
    console.print(f"audit written to {path}/audit.json and {path}/audit.html")


def _value(text: str) -> Any:
    """A parameter value: JSON (numbers, true/false, lists, objects) or else the plain string."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _params(items: Sequence[str], flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise EquirecError(f"{flag} {item!r}: write key=value")
        out[key.strip()] = _value(value.strip())
    return out


def _grid(items: Sequence[str]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise EquirecError(f"--grid {item!r}: write name=v1,v2,... (e.g. p=0.1,0.3,0.5)")
        out[key.strip()] = [_value(v.strip()) for v in values.split(",")]
    return out


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The run config: the ``--config`` file (or defaults) with the flags applied on top."""
    from equirec.workflows.config import RunConfig

    config = RunConfig.from_toml(args.config) if args.config else RunConfig()
    if args.dataset:
        config.data.dataset = args.dataset
        config.data.interactions = None
    if args.interactions:
        config.data.interactions = args.interactions
    if args.data_dir:
        config.data.data_dir = args.data_dir
    if args.columns:
        config.data.columns = _mapping(args.columns, "--columns")
    if args.user_attributes:
        config.data.user_attributes = args.user_attributes
    if args.item_attributes:
        config.data.item_attributes = args.item_attributes
    if args.model and args.model.lower() != str(config.model.get("name", "")).lower():
        config.model = {"name": args.model}  # the file's parameters were for another model
    if args.split:
        config.split.method = args.split
    if args.seed is not None:
        config.seed = args.seed
    if args.min_rating is not None:
        config.preprocess.min_rating = args.min_rating
    if args.out:
        config.out = args.out
    if args.epochs is not None:
        from equirec.models.registry import model_class

        cls = model_class(str(config.model["name"]))
        if "epochs" not in cls._get_param_names():
            raise EquirecError(
                f"--epochs does not apply to model {cls.name!r}: it is not trained by epochs"
            )
        config.model["epochs"] = args.epochs
    config.check(source="command line")
    return config


def _mapping(text: str, flag: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise EquirecError(
                f"{flag}: expected key=value pairs separated by commas, got {part!r}"
            )
        out[key.strip()] = value.strip()
    return out


def summary_table(metrics: dict[str, Any], *, ks: Sequence[int]) -> Table:
    """The end-of-run table: accuracy metrics by k, then beyond-accuracy metrics."""
    from rich.table import Table

    overall = metrics["overall"]
    table = Table(
        title=(
            f"{metrics['model']} on {metrics['dataset']['name']} — split {metrics['split']}, "
            f"seed {metrics['seed']}, full ranking, seen items excluded"
        )
    )
    table.add_column("metric")
    for k in ks:
        table.add_column(f"@{k}", justify="right")
    names = sorted(
        {key.split("@")[0] for key in overall if "@" in key},
        key=lambda n: (
            n not in ACCURACY_ORDER,
            ACCURACY_ORDER.index(n) if n in ACCURACY_ORDER else 0,
            n,
        ),
    )
    for name in names:
        table.add_row(name, *(_fmt(overall.get(f"{name}@{k}")) for k in ks))
    return table


ACCURACY_ORDER = ["ndcg", "recall", "hit", "mrr", "map", "precision"]


def _methods_table(name: str | None) -> Table:
    """Every method with its stage, or one method's parameters (from the registry)."""
    from rich.table import Table

    from equirec.mitigation.registry import method
    from equirec.params import param_rows

    if name is None:
        table = Table(title="mitigation methods (`equirec methods NAME` for parameters)")
        for col in ("name", "stage", "what it does", "sweep trades"):
            table.add_column(col)
        stages = {"pre": "pre-processing", "in": "in-processing", "post": "re-ranking"}
        for m in (*TRAINING_METHODS.values(), *RERANKERS.values()):
            table.add_row(m.name, stages[m.stage], m.summary, m.fairness)
        return table
    entry = method(name)
    table = Table(title=f"{entry.name}: {entry.summary}")
    for col in ("parameter", "type", "default", "meaning"):
        table.add_column(col)
    for row in param_rows(entry.params_model()):
        table.add_row(row["name"], row["type"], row["default"], row["meaning"])
    return table


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``equirec`` console script."""
    args = _parser().parse_args(argv)
    from rich.console import Console
    from rich.table import Table

    console = Console()
    undo_logging = _setup_logging(args)
    try:
        if args.command == "datasets":
            from equirec.data import available_datasets

            table = Table(title="built-in datasets")
            table.add_column("name")
            table.add_column("description")
            for name, text in available_datasets().items():
                table.add_row(name, text)
            console.print(table)
        elif args.command == "models":
            from equirec.models.registry import available_models, describe_model

            table = Table(title="models")
            table.add_column("name")
            table.add_column("description")
            for name in available_models():
                table.add_row(name, describe_model(name))
            console.print(table)
        elif args.command == "methods":
            if args.markdown:
                from equirec.mitigation.registry import markdown

                sys.stdout.write(markdown(args.name))
            else:
                console.print(_methods_table(args.name))
        elif args.command == "run":
            from equirec.workflows.run import run

            config = config_from_args(args)
            result = run(config)
            console.print(summary_table(result.metrics, ks=config.evaluation.ks))
            console.print(
                f"trained in {result.metrics['train_seconds']:.1f} s; "
                f"{result.metrics['evaluated_users']} test users; results in {result.out}"
            )
            if args.audit and result.out is not None:
                from equirec.workflows.audit import audit_run

                _audit_summary(console, audit_run(result.out), result.out)
        elif args.command == "audit":
            from equirec.workflows.audit import audit_options, audit_run

            options = audit_options(
                attributes=args.attributes,
                k=args.k,
                intersections=args.intersect,
                n_boot=args.n_boot,
            )
            _audit_summary(console, audit_run(args.run_dir, **options), args.run_dir)
        elif args.command == "rerank":
            from equirec.workflows.rerank import rerank_run

            reranked = rerank_run(
                args.run_dir,
                method=args.method,
                params=_params(args.param, "--param"),
                k=args.k,
                depth=args.depth,
                out=args.out,
            )
            ndcg = reranked.metrics["overall"].get(f"ndcg@{args.k}")
            console.print(
                f"re-ranked with {args.method}: ndcg@{args.k} = {_fmt(ndcg)}; "
                f"results in {reranked.out}"
            )
            if args.audit:
                from equirec.workflows.audit import audit_run

                _audit_summary(console, audit_run(reranked.out, k=args.k), reranked.out)
        elif args.command == "sweep":
            from equirec.workflows.sweep import sweep_run

            swept = sweep_run(
                args.run_dir,
                method=args.method,
                grid=_grid(args.grid),
                fixed=_params(args.param, "--param"),
                k=args.k,
                fairness_metric=args.fairness_metric,
                depth=args.depth,
                out=args.out,
            )
            table = Table(title=f"{args.method} sweep: {swept['params']['fairness_label']}")
            for col in ("setting", swept["params"]["accuracy_metric"], "fairness", "pareto"):
                table.add_column(col)
            for point in swept["points"]:
                table.add_row(
                    point["label"],
                    _fmt(point["accuracy"]),
                    _fmt(point["fairness"]),
                    "yes" if point["pareto"] else "",
                )
            console.print(table)
    except EquirecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        undo_logging()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
