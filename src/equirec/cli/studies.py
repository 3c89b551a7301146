"""The commands that compare, study and tune models: ``study``, ``tune``, ``counterfactual``,
``llm-audit`` and ``compare``. Each imports its workflow only when it runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from equirec.cli.tables import compare_table, fmt, llm_audit_table, study_table
from equirec.cli.values import grid_values, key_values, search_space, seed_list
from equirec.errors import EquirecError

__all__ = ["STUDY_COMMANDS"]


def study(args: argparse.Namespace, console: Any) -> None:
    """``equirec study``: a TOML file or the flags' grid."""
    from equirec.workflows.study import StudyConfig, study_from_flags, study_run

    if args.config:
        config = StudyConfig.from_toml(args.config)
    else:
        config = study_from_flags(
            dataset=args.dataset,
            data_dir=args.data_dir,
            models=args.model,
            grid=grid_values(args.grid),
            fixed=key_values(args.set, "--set"),
            seeds=seed_list(args.seeds),
            out=args.out,
        )
    studied = study_run(
        config,
        jobs=args.jobs,
        overwrite=args.overwrite,
        train=not args.no_train,
        source=args.config or "study",
    )
    console.print(study_table(studied))
    if studied["params"]["missing"]:
        console.print(f"{len(studied['params']['missing'])} run(s) not done yet")
    console.print(f"study in {studied['params']['out']}/results/study.html")


def tune(args: argparse.Namespace, console: Any) -> None:
    """``equirec tune``: the run config's model searched on validation NDCG@10."""
    from equirec.workflows.config import RunConfig
    from equirec.workflows.tune import tune_run

    tuned = tune_run(
        RunConfig.from_toml(args.config),
        settings={
            "minutes": args.minutes,
            "trials": args.trials,
            "space": search_space(args.space),
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


def counterfactual(args: argparse.Namespace, console: Any) -> None:
    """``equirec counterfactual``: a user attribute flipped, the lists compared."""
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


def compare(args: argparse.Namespace, console: Any) -> None:
    """``equirec compare``: runs side by side, tested against the first."""
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


def llm_audit(args: argparse.Namespace, console: Any) -> None:
    """``equirec llm-audit``: the provider the flags name, the requests from the dataset."""
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


STUDY_COMMANDS: dict[str, Callable[[argparse.Namespace, Any], None]] = {
    "study": study,
    "tune": tune,
    "counterfactual": counterfactual,
    "llm-audit": llm_audit,
    "compare": compare,
}
"""Command -> what it does with the parsed flags and the console."""
