"""The subcommands that compare, study and tune models: their flags and help."""

from __future__ import annotations

from typing import Any

from equirec.cli.flags import log_flags

__all__ = ["add_study_commands"]


def add_study_commands(sub: Any) -> None:
    """Add ``compare``, ``study``, ``llm-audit``, ``counterfactual`` and ``tune`` to the
    subcommands ``sub`` (an ``argparse`` subparsers action)."""
    cp = sub.add_parser(
        "compare",
        help="runs side by side: accuracy and fairness, paired tests against the first run",
        description="Accuracy and every fairness headline of two or more runs side by side, "
        "and each run tested against the first (the reference) on the same test users: a "
        "paired bootstrap interval and a paired permutation p-value of every difference "
        "(Holm-adjusted), with a Pareto view. A run without an audit.json is audited first.",
    )
    cp.add_argument("run_dirs", nargs="+", help="run folders; the first is the reference")
    cp.add_argument("--out", required=True, help="output folder of compare.json/.csv/.html")
    cp.add_argument(
        "--fairness-metric",
        help="the Pareto view's fairness axis (default ndcg_gap, or gini_exposure without a "
        "user attribute)",
    )
    cp.add_argument("--attribute", help="user attribute of the fairness axis (default: first)")
    cp.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    cp.add_argument(
        "--permutations", type=int, default=2000, help="paired permutations (default 2000)"
    )
    cp.add_argument("--seed", type=int, default=0, help="seed of the resamples (default 0)")
    cp.add_argument(
        "--overwrite", action="store_true", help="replace the output folder if it holds files"
    )
    log_flags(cp)

    st = sub.add_parser(
        "study",
        help="train and audit a grid of model families and sizes with several seeds; plot "
        "accuracy and fairness against model size",
        description="A study: every model family and grid point trained on one split with "
        "each seed, audited, and summarised against the number of trained parameters "
        "(study.json, study.csv, study.html under OUT/results). Resumable: runs already done "
        "are read, not retrained. Give a TOML file, or the flags for a simple grid.",
    )
    st.add_argument("--config", help="a study TOML file ([[models]] with params and grid)")
    st.add_argument("--dataset", help="built-in dataset (without --config)")
    st.add_argument("--data-dir", help="folder of the dataset's files (e.g. ml-100k)")
    st.add_argument(
        "--model", action="append", default=[], help="a model family (repeat: --model sasrec)"
    )
    st.add_argument(
        "--grid",
        action="append",
        default=[],
        help="values crossed for every family that takes the parameter, e.g. dim=32,64,128",
    )
    st.add_argument(
        "--set", action="append", default=[], help="fixed model parameter key=value (all families)"
    )
    st.add_argument("--seeds", help="comma-separated seeds (default 0,1,2)")
    st.add_argument("--out", help="study folder (required without --config)")
    st.add_argument("--jobs", type=int, default=1, help="runs trained at once (default 1)")
    st.add_argument(
        "--overwrite", action="store_true", help="retrain run folders that hold another run"
    )
    st.add_argument(
        "--no-train",
        action="store_true",
        help="summarise the runs already done, train nothing (a long study's progress)",
    )
    log_flags(st)

    la = sub.add_parser(
        "llm-audit",
        help="audit an LLM recommender: FaiRLLM's neutral against sensitive requests",
        description="Ask an LLM for recommendations neutrally and naming each value of "
        "sensitive attributes (FaiRLLM), match the answers to the dataset's titles, and "
        "measure how the lists move (Jaccard, SERP*, PRAG*; SNSR and SNSV with intervals and "
        "permutation tests), the unmatched (invented) titles, and with --requests history the "
        "lists' alignment with each user's held-out item. Every answer is cached.",
    )
    la.add_argument(
        "--provider",
        choices=["openai", "transformers", "python"],
        required=True,
        help="an OpenAI-compatible endpoint, a local transformers folder, or a Python function",
    )
    la.add_argument("--base-url", help="openai: the API root, e.g. http://127.0.0.1:8000/v1")
    la.add_argument("--llm-model", help="openai: the model name the server knows")
    la.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", help="openai: environment variable of the key"
    )
    la.add_argument("--model-path", help="transformers: the local model folder")
    la.add_argument("--callable", help="python: package.module:function of the prompt")
    la.add_argument("--dataset", default="movielens-small", help="catalogue (needs titles)")
    la.add_argument("--data-dir", help="folder of the dataset's files (e.g. ml-100k)")
    la.add_argument(
        "--requests",
        choices=["anchors", "history"],
        default="anchors",
        help="anchors: 'I am a fan of TITLE'; history: a user's liked titles (default anchors)",
    )
    la.add_argument("--n-requests", type=int, default=50, help="requests (default 50)")
    la.add_argument("--anchors-file", help="anchor names, one per line (instead of titles)")
    la.add_argument(
        "--attribute",
        action="append",
        default=[],
        help="NAME (default values) or NAME=value:phrase,value:phrase (repeat; default gender, "
        "age, occupation)",
    )
    la.add_argument("--k", type=int, default=20, help="list length (default 20)")
    la.add_argument("--cache", help="response cache file (default OUT/answers.sqlite)")
    la.add_argument("--out", required=True, help="output folder")
    la.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    la.add_argument("--permutations", type=int, default=1000, help="permutations per test")
    la.add_argument("--seed", type=int, default=0, help="seed (users drawn, resampling)")
    la.add_argument("--overwrite", action="store_true", help="replace earlier results in OUT")
    log_flags(la)

    cf = sub.add_parser(
        "counterfactual",
        help="flip a user attribute the model sees and compare the lists (FaiRLLM's protocol)",
        description="Rank every test user with their own value of a user attribute the model "
        "takes as a feature and with every other value; report the lists' similarity "
        "(Jaccard, SERP*, PRAG*), its gap between the true groups, and the change of NDCG.",
    )
    cf.add_argument("run_dir", help="a run whose model has user_attributes")
    cf.add_argument("--attribute", required=True, help="a categorical user attribute (gender)")
    cf.add_argument("--k", type=int, default=10, help="list length (default 10)")
    cf.add_argument("--permutations", type=int, default=2000, help="per gap test (default 2000)")
    cf.add_argument("--out", help="write the report as JSON to this file")
    cf.add_argument("--overwrite", action="store_true", help="replace --out")
    log_flags(cf)

    tu = sub.add_parser(
        "tune",
        help="search a model's parameters for the best validation NDCG@10 (Optuna)",
        description="Search the model of a run config for the best validation NDCG@10 within "
        "a time budget: the config as given is the first trial, TPE proposes the next, trials "
        "that fall behind are pruned. Test items are never scored. Writes trials.csv, "
        "tune.json and best.toml (a run config: equirec run --config OUT/best.toml).",
    )
    tu.add_argument("--config", required=True, help="the run config whose model is tuned")
    tu.add_argument("--minutes", type=float, default=20.0, help="time budget (default 20)")
    tu.add_argument("--trials", type=int, help="most trials (default: what the budget allows)")
    tu.add_argument(
        "--space",
        action="append",
        default=[],
        help="a searched parameter: NAME=LOW:HIGH[:log] or NAME=A,B,C (repeat; default: the "
        "model's own space)",
    )
    tu.add_argument("--seed", type=int, default=0, help="seed of the sampler (default 0)")
    tu.add_argument("--no-prune", action="store_true", help="never stop a trial early")
    tu.add_argument("--out", required=True, help="output folder")
    tu.add_argument("--overwrite", action="store_true", help="replace the output folder")
    log_flags(tu)
