"""What an epoch of SASRec costs under each loss implementation and precision (ML-100K).

SASRec's defaults (max_len 200, dim 64, batch 32) on the whole log, ``--epochs``
epochs without validation per variant, the variants interleaved over ``--rounds`` rounds so
that the machine's load falls on all alike; seconds per epoch and the ratio to the first
variant within each round. Variants: ``unfused`` (``F.cross_entropy`` over fp32 logits, the
loss before this benchmark), ``fp32`` (the fused in-place softmax cross-entropy, the
default), ``bf16`` (fused, logits from bfloat16 products: ``precision="bf16"``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/epoch_cost.py --rounds 3 \\
        --out benchmarks/results/epoch_cost.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from cold_start import write_result

VARIANTS: dict[str, dict[str, Any]] = {
    "unfused": {"fused": False},
    "fp32": {},
    "bf16": {"precision": "bf16"},
}


def epoch_seconds(variant: str, *, epochs: int, max_len: int, data: Any) -> float:
    """Seconds per epoch of one fit of ``variant`` (no validation)."""
    import equirec.models.sequence_tasks as tasks
    from equirec.models.sequential import SASRec
    from equirec.training import losses

    settings = dict(VARIANTS[variant])
    fused = settings.pop("fused", True)

    def full_cross_entropy(*args: Any, **kwargs: Any) -> Any:
        kwargs["fused"] = fused and kwargs.get("fused", True)
        return losses.full_cross_entropy(*args, **kwargs)

    tasks.full_cross_entropy = full_cross_entropy  # type: ignore[assignment]
    model = SASRec(epochs=epochs, max_len=max_len, patience=0, seed=0, device="cpu", **settings)
    start = time.perf_counter()
    model.fit(data)
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data-dir", default="../shared/datasets/ml-100k")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-len", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    import torch

    from equirec.data.sources import load_dataset

    torch.set_num_threads(1)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for r in range(args.rounds):
        for v in VARIANTS:
            seconds[v].append(epoch_seconds(v, epochs=args.epochs, max_len=args.max_len, data=data))
        print(f"round {r}: " + ", ".join(f"{v} {s[-1]:.2f} s" for v, s in seconds.items()))
    first = next(iter(VARIANTS))
    rows = [
        {"round": r, "variant": v, "seconds_per_epoch": s[r]}
        for r in range(args.rounds)
        for v, s in seconds.items()
    ]
    summary = {
        v: {
            "median_seconds_per_epoch": statistics.median(s),
            f"median_ratio_to_{first}": statistics.median(
                a / b for a, b in zip(s, seconds[first], strict=True)
            ),
        }
        for v, s in seconds.items()
    }
    protocol = (
        f"the whole {args.dataset} log, SASRec defaults with max_len {args.max_len}, "
        f"{args.epochs} epochs without validation per fit, variants interleaved, 1 thread"
    )
    write_result(args, rows, protocol=protocol, models=VARIANTS, summary=summary)
    print(summary)


if __name__ == "__main__":
    main()
