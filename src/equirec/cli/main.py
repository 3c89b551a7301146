"""``equirec``'s entry point: parse, set up logging, run the command, turn errors into messages."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from equirec.cli.parser import build_parser
from equirec.cli.tables import (
    audit_summary,
    compare_table,
    curve_table,
    explanation_summary,
    fmt,
    gap_line,
    llm_audit_table,
    methods_table,
    rerank_summary,
    slice_lines,
    study_table,
    summary_table,
    sweep_table,
)
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


def _space(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``--space`` values: ``NAME=LOW:HIGH[:log]`` or ``NAME=A,B,C``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise EquirecError(f"--space {item!r}: write NAME=LOW:HIGH[:log] or NAME=A,B,C")
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
                raise EquirecError(f"--space {item!r}: write NAME=LOW:HIGH or NAME=LOW:HIGH:log")
            low, high = _value(parts[0]), _value(parts[1])
            out[name.strip()] = {"low": low, "high": high, "log": len(parts) == 3}
        else:
            out[name.strip()] = {"choices": [_value(v.strip()) for v in spec.split(",")]}
    return out


def _seeds(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise EquirecError(
            f"--seeds {text!r}: write integers separated by commas (0,1,2)"
        ) from None


def _llm_audit(args: argparse.Namespace, console: Any) -> None:
    from pathlib import Path

    from equirec.data import load_dataset
    from equirec.llm.providers import LocalTransformers, OpenAICompatible, callable_from_path
    from equirec.workflows.llm_audit import attributes_from_specs, llm_audit_run

    needs = {"openai": ("base_url", "llm_model"), "transformers": ("model_path",)}
    needs["python"] = ("callable",)
    missing = [f"--{n.replace('_', '-')}" for n in needs[args.provider] if not getattr(args, n)]
    if missing:
        raise EquirecError(f"--provider {args.provider} needs {' and '.join(missing)}")
    provider: Any
    if args.provider == "openai":
        provider = OpenAICompatible(
            base_url=args.base_url, model=args.llm_model, api_key_env=args.api_key_env
        )
    elif args.provider == "transformers":
        provider = LocalTransformers(path=args.model_path)
    else:
        provider = callable_from_path(args.callable)
    anchors = None
    if args.anchors_file:
        path = Path(args.anchors_file)
        if not path.is_file():
            raise EquirecError(f"--anchors-file {path}: no such file")
        anchors = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    report = llm_audit_run(
        provider,
        load_dataset(args.dataset, data_dir=args.data_dir),
        out=args.out,
        requests=args.requests,
        n_requests=args.n_requests,
        anchors=anchors,
        attributes=attributes_from_specs(args.attribute),
        k=args.k,
        cache=args.cache,
        n_boot=args.n_boot,
        n_permutations=args.permutations,
        seed=args.seed,
        overwrite=args.overwrite,
    )
    console.print(llm_audit_table(report))
    console.print(f"results in {args.out}/results/llm_audit.json")


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
                params=_params(args.param, "--param"),
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
                params=_params(args.param, "--param"),
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
        elif args.command == "study":
            from equirec.workflows.study import StudyConfig, study_from_flags, study_run

            if args.config:
                study = StudyConfig.from_toml(args.config)
            else:
                study = study_from_flags(
                    dataset=args.dataset,
                    data_dir=args.data_dir,
                    models=args.model,
                    grid=_grid(args.grid),
                    fixed=_params(args.set, "--set"),
                    seeds=_seeds(args.seeds),
                    out=args.out,
                )
            studied = study_run(
                study,
                jobs=args.jobs,
                overwrite=args.overwrite,
                train=not args.no_train,
                source=args.config or "study",
            )
            console.print(study_table(studied))
            if studied["params"]["missing"]:
                console.print(f"{len(studied['params']['missing'])} run(s) not done yet")
            console.print(f"study in {studied['params']['out']}/results/study.html")
        elif args.command == "tune":
            from equirec.workflows.config import RunConfig
            from equirec.workflows.tune import tune_run

            tuned = tune_run(
                RunConfig.from_toml(args.config),
                settings={
                    "minutes": args.minutes,
                    "trials": args.trials,
                    "space": _space(args.space),
                    "seed": args.seed,
                    "prune": not args.no_prune,
                },
                out=args.out,
                overwrite=args.overwrite,
            )
            counts = tuned["counts"]
            console.print(
                f"{counts['complete']} trials complete, {counts['pruned']} pruned in "
                f"{tuned['params']['seconds']:.0f} s; validation NDCG@10 "
                f"{tuned['default']['ndcg@10']:.4f} as given, {tuned['best']['ndcg@10']:.4f} "
                f"best with {tuned['best']['params']}"
            )
            console.print(f"best run config: {args.out}/best.toml")
        elif args.command == "counterfactual":
            from equirec.workflows.counterfactual import counterfactual_run

            flipped = counterfactual_run(
                args.run_dir,
                attribute=args.attribute,
                k=args.k,
                n_permutations=args.permutations,
                out=args.out,
                overwrite=args.overwrite,
            )
            for name, entry in flipped["similarity"].items():
                groups = ", ".join(f"{g} {v['mean']:.3f}" for g, v in entry["by_group"].items())
                test = entry["gap_test"] or {}
                console.print(
                    f"{name}@{args.k} with {args.attribute} flipped: {entry['mean']:.3f} "
                    f"(by true {args.attribute}: {groups}; gap p = {fmt(test.get('p_value'))})"
                )
            change = flipped["ndcg_change"]
            console.print(
                f"NDCG@{args.k}: {change['factual']:.4f} as the users are, "
                f"{change['counterfactual']:.4f} flipped"
            )
        elif args.command == "llm-audit":
            _llm_audit(args, console)
        elif args.command == "compare":
            from equirec.workflows.compare import compare_runs

            compared = compare_runs(
                args.run_dirs,
                out=args.out,
                fairness_metric=args.fairness_metric,
                attribute=args.attribute,
                n_boot=args.n_boot,
                n_permutations=args.permutations,
                seed=args.seed,
                overwrite=args.overwrite,
            )
            console.print(compare_table(compared))
            for warning in compared["warnings"]:
                console.print(f"[yellow]warning:[/] {warning}")
            console.print(f"comparison in {args.out}/compare.html")
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
