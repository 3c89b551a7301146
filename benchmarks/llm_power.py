"""Power and false-positive rate of the LLM audit's SNSR test, on answerers with a planted bias.

Each simulated audit asks ``--anchors`` requests neutrally and for the two values of one
attribute; every answer (K = 20 titles from a 500-title catalogue) replaces ``noise`` = 3
titles at random, and the biased value's answers replace ``bias`` more. The table gives, per
bias and number of anchors, the share of audits whose Jaccard@20 SNSR test rejects at 5%
(bias 0: the false-positive rate).

    .venv/bin/python benchmarks/llm_power.py --audits 200 --out benchmarks/results/llm_power.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

from equirec.llm.fairllm import anchor_requests, fairllm_audit
from equirec.llm.providers import CallableProvider
from equirec.testing.llm import planted_answers

TITLES = [f"Film {i:04x}{(i * 7919) % 65536:04x}" for i in range(500)]
ATTRIBUTES = {"gender": {"male": "a male", "female": "a female"}}


def detection(bias: int, anchors: int, audits: int, permutations: int) -> float:
    rejected = 0
    for seed in range(audits):
        answer = planted_answers(
            TITLES, phrases=["a", "a male", "a female"], bias={"a female": bias}, seed=seed
        )
        report = fairllm_audit(
            CallableProvider(answer, f"planted:{bias}:{seed}"),
            anchor_requests(
                [f"Director {seed}-{i}" for i in range(anchors)], attributes=ATTRIBUTES
            ),
            similarities=("jaccard",),
            n_boot=0,
            n_permutations=permutations,
            seed=seed,
        )
        rejected += report["attributes"]["gender"]["jaccard"]["p_value"] < 0.05
    return rejected / audits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits", type=int, default=200)
    parser.add_argument("--permutations", type=int, default=199)
    parser.add_argument("--biases", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--anchors", type=int, nargs="+", default=[10, 30, 100])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/llm_power.json"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = []
    for bias in args.biases:
        for anchors in args.anchors:
            rate = detection(bias, anchors, args.audits, args.permutations)
            rows.append({"bias": bias, "anchors": anchors, "rejection_rate": rate})
            print(rows[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": date.today().isoformat(),
                "machine": platform.processor() or platform.machine(),
                "command": "benchmarks/llm_power.py "
                + " ".join(
                    f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"
                ),
                "audits": args.audits,
                "rows": rows,
                "seconds": time.perf_counter() - t0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
