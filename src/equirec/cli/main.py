"""``equirec``'s entry point: parse, set up logging, run the command, turn errors into messages."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from equirec.cli.parser import build_parser
from equirec.cli.studies import STUDY_COMMANDS
from equirec.cli.tables import (
    audit_summary,
    curve_table,
    explanation_summary,
    gap_line,
    methods_table,
    rerank_summary,
    slice_lines,
    summary_table,
    sweep_table,
)
from equirec.cli.values import grid_values, key_values
from equirec.errors import EquirecError

if TYPE_CHECKING:
    from equirec.workflows.config import RunConfig, SplitConfig

__all__ = ["config_from_args", "main"]


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


def _launch(nproc: int, argv: list[str]) -> int:
    """Run ``equirec`` with ``argv`` (less ``--nproc``) in ``nproc`` processes by torchrun."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as torchrun

    rest, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--nproc":
            skip = True
        elif not arg.startswith("--nproc="):
            rest.append(arg)
    try:
        torchrun(["--standalone", f"--nproc-per-node={nproc}", "-m", "equirec.cli", *rest])
    except ChildFailedError as exc:
        print(f"error: a training process failed: {exc}", file=sys.stderr)
        return 2
    return 0


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
    for flag, section, key in _PLAIN_FLAGS:
        value = getattr(args, flag)
        if value is not None:
            setattr(getattr(config, section), key, value)
    if args.multi_valued:
        config.data.multi_valued = _separators(args.multi_valued)
    if args.model and args.model.lower() != str(config.model.get("name", "")).lower():
        config.model = {"name": args.model}  # the file's parameters were for another model
    if args.split:
        config.split.method = args.split
    if args.cold_frac is not None:
        config.split = _cold_frac(config.split, args.cold_frac)
    if args.holdout_users is not None:
        config.split = _split_option(config.split, "holdout_users", args.holdout_users)
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


_PLAIN_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("sep", "data", "sep"),
    ("user_key", "data", "user_key"),
    ("item_key", "data", "item_key"),
    ("duplicates", "preprocess", "duplicates"),
    ("exact_duplicates", "preprocess", "exact_duplicates"),
    ("user_core", "preprocess", "user_core"),
    ("item_core", "preprocess", "item_core"),
    ("ks", "evaluation", "ks"),
    ("keep_k", "evaluation", "keep_k"),
)
"""``run`` flags copied as they are: (argparse name, config section, key)."""


def _cold_frac(split: SplitConfig, value: float) -> SplitConfig:
    """The ``[split]`` section with ``--cold-frac`` applied, validated (range, method)."""
    if split.method != "cold-items":
        raise EquirecError(
            f"--cold-frac applies to --split cold-items only; the split method is {split.method!r}"
        )
    return _split_option(split, "cold_frac", value)


def _split_option(split: SplitConfig, key: str, value: Any) -> SplitConfig:
    """The ``[split]`` section with one flag's value, validated (``--cold-frac`` for
    ``cold_frac``)."""
    from equirec.params import validate

    flag = "--" + key.replace("_", "-")
    data = {**split.model_dump(), key: value}
    return validate(type(split), data, where=f"command line {flag}", noun="key")


def _separators(items: Sequence[str]) -> dict[str, str]:
    """``--multi-valued genres='|' tags=,`` -> ``{"genres": "|", "tags": ","}``."""
    out = {}
    for item in items:
        column, eq, sep = item.partition("=")
        sep = sep.strip().strip("'\"")
        if not eq or not column.strip() or not sep:
            raise EquirecError(
                f"--multi-valued {item!r}: write COLUMN=SEPARATOR, e.g. genres='|' (quote the "
                "separator so the shell leaves it alone)"
            )
        out[column.strip()] = sep
    return out


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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``equirec`` console script."""
    args = build_parser().parse_args(argv)
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
                console.print(methods_table(args.name))
        elif args.command == "run":
            if args.nproc > 1 and "WORLD_SIZE" not in os.environ:
                return _launch(args.nproc, sys.argv[1:] if argv is None else list(argv))
            from equirec.training.distributed import init_from_env, leave
            from equirec.workflows.run import run

            shard = init_from_env()
            if shard.rank:  # rank 0 reports
                logging.getLogger("equirec").setLevel(logging.WARNING)
            config = config_from_args(args)
            try:
                result = run(config, overwrite=args.overwrite)
            finally:
                leave()
            if shard.rank:
                return 0
            console.print(summary_table(result.metrics, ks=config.evaluation.ks))
            for line in slice_lines(result.metrics, ks=config.evaluation.ks):
                console.print(line)
            console.print(
                f"trained in {result.metrics['train_seconds']:.1f} s; "
                f"{result.metrics['evaluated_users']} test users; results in {result.out}"
            )
            spent = (result.metrics.get("training") or {}).get("privacy")
            if spent:
                console.print(
                    f"private training (user level): ε = {spent['epsilon']:.3g} at δ = "
                    f"{spent['delta']:.3g}; noise σ = {spent['noise_multiplier']:.3g}, clipping "
                    f"{spent['max_grad_norm']}, sampling rate {spent['sample_rate']:.3g}, "
                    f"{spent['steps']} steps",
                    markup=False,
                )
            if args.audit and result.out is not None:
                from equirec.workflows.audit import audit_run

                audit_summary(console, audit_run(result.out), result.out)
        elif args.command == "coldstart":
            from equirec.workflows.coldstart import cold_user_curve

            cold = cold_user_curve(
                args.run_dir, lengths=args.lengths, ks=args.ks, attributes=args.attributes
            )
            console.print(curve_table(cold.curve, ks=args.ks))
            for row in cold.gaps.to_dict("records"):
                console.print(f"N = {row['length']}: {gap_line(row)}", markup=False)
        elif args.command == "explain" and args.all_users:
            from equirec.workflows.explain import explain_users

            quality = explain_users(
                args.run_dir,
                k=args.k,
                method=args.method,
                attributes=args.attributes,
                max_size=args.max_size,
            )
            console.print(explanation_summary(quality.per_user), markup=False)
            for row in quality.gaps.to_dict("records"):
                console.print(gap_line(row), markup=False)
        elif args.command == "explain":
            from equirec.workflows.explain import explain, explanation_text

            found = explain(
                args.run_dir,
                user=args.user,
                item=args.item,
                k=args.k,
                method=args.method,
                top=args.top,
                max_size=args.max_size,
            )
            text = explanation_text(found, args.format)
            if args.out:
                from pathlib import Path

                from equirec.io import atomic_write_text, check_new

                check_new(Path(args.out), overwrite=args.overwrite)
                atomic_write_text(Path(args.out), text)
            else:
                sys.stdout.write(text)
        elif args.command == "audit":
            from equirec.workflows.audit import audit_options, audit_run

            options = audit_options(
                attributes=args.attributes,
                k=args.k,
                intersections=args.intersect,
                n_boot=args.n_boot,
            )
            audited = audit_run(args.run_dir, shadows=args.shadows, **options)
            audit_summary(console, audited, args.run_dir)
        elif args.command == "recommend":
            from equirec.workflows.recommend import (
                read_history,
                read_users,
                recommend,
                write_recommendations,
            )

            users = read_users(args.users_file) if args.users_file else args.users
            recs = recommend(
                args.run_dir,
                users=users,
                all_users=args.all_users,
                histories=read_history(args.history) if args.history else None,
                k=args.k,
                policy=args.policy,
                params=key_values(args.param, "--param"),
                depth=args.depth,
            )
            if args.out:
                path = write_recommendations(recs.frame, args.out, overwrite=args.overwrite)
                logging.getLogger("equirec.cli").info(
                    "%d recommendation(s) written to %s", len(recs.frame), path
                )
            else:
                sys.stdout.write(recs.frame.to_csv(index=False))
        elif args.command == "serve":
            from equirec.serve.server import serve

            serve(
                args.run_dir,
                host=args.host,
                port=args.port,
                workers=args.workers,
                threads=args.threads,
                policy=args.policy,
                access_log=not args.no_access_log,
            )
        elif args.command == "rerank":
            from equirec.workflows.rerank import rerank_run

            reranked = rerank_run(
                args.run_dir,
                method=args.method,
                params=key_values(args.param, "--param"),
                k=args.k,
                depth=args.depth,
                deepen=args.deepen,
                out=args.out,
                overwrite=args.overwrite,
            )
            rerank_summary(console, reranked)
            if args.audit:
                from equirec.workflows.audit import audit_run

                audit_summary(console, audit_run(reranked.out, k=args.k), reranked.out)
        elif args.command in STUDY_COMMANDS:
            STUDY_COMMANDS[args.command](args, console)
        elif args.command == "sweep":
            from equirec.workflows.sweep import sweep_run

            swept = sweep_run(
                args.run_dir,
                method=args.method,
                grid=grid_values(args.grid),
                fixed=key_values(args.param, "--param"),
                k=args.k,
                fairness_metric=args.fairness_metric,
                depth=args.depth,
                deepen=args.deepen,
                out=args.out,
                overwrite=args.overwrite,
            )
            console.print(sweep_table(swept, args.method))
            total = sum(point.get("seconds", 0.0) for point in swept["points"])
            console.print(f"{len(swept['points']) - 1} point(s) and the baseline in {total:.1f} s")
    except EquirecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        undo_logging()
    return 0
