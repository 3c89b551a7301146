"""Coverage, level and power of the audit's gap test for ML-100K's group sizes.

Per-user NDCG@10 is simulated with no true gap and assigned to groups of ML-100K's sizes (gender
273/670, a 20/923 and a 48/895 split, the 7 age bands, the 21 occupations). For every
configuration and simulation, :func:`equirec.fairness.gaps.gap_test` (the audit's method) gives an
interval of the gap ``max − min`` of the group means and a p-value. Reported:

- **coverage**: the share of no-gap simulations whose 95% interval contains 0 (target 95%);
- **level**: the share whose p-value is below 0.05 with the adaptive permutations the audit uses
  (target 5%);
- **old**: the coverage of the previous method (stratified bootstrap of the two groups extreme in
  the data, as if chosen beforehand), measured on the same simulations;
- **heteroscedastic**: no gap in the means, but the first group's users get half as many hits,
  each worth twice as much (the same mean, a different shape);
- **power**: the share of simulations that find a planted gap (the first group's NDCG raised by
  0.02 or 0.05, or its users given twice the hits).

Two null distributions of per-user NDCG: ``synthetic`` (35% of users with a hit, a skewed Beta
spread above 0) and, with ``--run`` (an equirec run folder), the run's own per-user NDCG@10
resampled over users (so it keeps its real shape, and no gap by construction).

    .venv/bin/python benchmarks/gap_coverage.py --sims 2000 --run /tmp/me/sasrec \
        --out benchmarks/results/gap_coverage.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from equirec.fairness.gaps import gap_test
from equirec.fairness.stats import percentile_interval, stratified_bootstrap

SIZES: dict[str, list[int]] = {
    "gender 273/670": [273, 670],
    "2 groups 20/923": [20, 923],
    "2 groups 48/895": [48, 895],
    "age, 7 bands": [36, 198, 301, 194, 80, 73, 61],
    "occupation, 21": [
        7,
        7,
        9,
        12,
        12,
        14,
        16,
        18,
        26,
        27,
        28,
        31,
        32,
        45,
        51,
        66,
        67,
        79,
        95,
        105,
        196,
    ],
}


def synthetic(n: int, rng: np.random.Generator) -> np.ndarray:
    hit = rng.random(n) < 0.35
    return np.where(hit, rng.beta(1.2, 3.0, n), 0.0)


def resampler(values: np.ndarray) -> Callable[[int, np.random.Generator], np.ndarray]:
    return lambda n, rng: values[rng.integers(0, len(values), n)]


def old_interval(values: np.ndarray, codes: np.ndarray, g: int, rng: np.random.Generator) -> bool:
    """The previous method: bootstrap the groups extreme in the data; does it contain 0?"""
    boot = stratified_bootstrap(values, codes, n_groups=g, n_boot=200, rng=rng)
    means = np.bincount(codes, weights=values, minlength=g) / np.bincount(codes, minlength=g)
    hi, lo = int(np.argmax(means)), int(np.argmin(means))
    low, high = percentile_interval(boot.means[:, hi, 0] - boot.means[:, lo, 0], 0.95)
    return low <= 0 <= high


def simulate(
    draw: Callable[[int, np.random.Generator], np.ndarray],
    sizes: list[int],
    *,
    sims: int,
    permutations: int,
    rng: np.random.Generator,
    shift: float = 0.0,
    hetero: bool = False,
    more_hits: bool = False,
    old: bool = False,
) -> dict[str, float]:
    codes = np.repeat(np.arange(len(sizes)), sizes)
    covered = rejected = old_covered = 0
    n_perm = []
    for _ in range(sims):
        v = draw(len(codes), rng)
        first = codes == 0
        if hetero:  # half the hits, each twice as large: the same mean
            v = np.where(first, np.where(rng.random(len(v)) < 0.5, 0.0, 2.0 * v), v)
        if more_hits:  # a second draw where the first had no hit
            v = np.where(first & (v == 0), draw(len(codes), rng), v)
        v = v + shift * first
        fixed = gap_test(
            v,
            codes,
            n_groups=len(sizes),
            confidence=0.95,
            n_permutations=permutations,
            max_permutations=permutations,
            rng=rng,
        )
        adaptive = gap_test(
            v, codes, n_groups=len(sizes), confidence=0.95, n_permutations=permutations, rng=rng
        )
        assert fixed is not None and adaptive is not None
        covered += fixed.gap_low == 0.0
        rejected += adaptive.p_value < 0.05
        n_perm.append(adaptive.n_permutations)
        if old:
            old_covered += old_interval(v, codes, len(sizes), rng)
    out = {
        "coverage": covered / sims,
        "level_or_power": rejected / sims,
        "mean_permutations": float(np.mean(n_perm)),
    }
    if old:
        out["old_coverage"] = old_covered / sims
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--permutations", type=int, default=200)
    parser.add_argument("--run", type=Path, help="an equirec run folder (per_user.csv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gap_coverage.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    draws: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {"synthetic": synthetic}
    if args.run:
        per_user = pd.read_csv(args.run / "per_user.csv")
        column = next(c for c in per_user.columns if c.startswith("ndcg@10"))
        draws[f"resampled {column} of {args.run.name}"] = resampler(per_user[column].to_numpy())
    rows = []
    started = time.perf_counter()
    for dist, draw in draws.items():
        for name, sizes in SIZES.items():
            t0 = time.perf_counter()
            null = simulate(
                draw, sizes, sims=args.sims, permutations=args.permutations, rng=rng, old=True
            )
            hetero = simulate(
                draw,
                sizes,
                sims=args.sims // 4,
                permutations=args.permutations,
                rng=rng,
                hetero=True,
            )
            power = {
                shift: simulate(
                    draw,
                    sizes,
                    sims=args.sims // 4,
                    permutations=args.permutations,
                    rng=rng,
                    shift=shift,
                )["level_or_power"]
                for shift in (0.02, 0.05)
            }
            hits = simulate(
                draw,
                sizes,
                sims=args.sims // 4,
                permutations=args.permutations,
                rng=rng,
                more_hits=True,
            )["level_or_power"]
            row = {
                "null": dist,
                "groups": name,
                "coverage": null["coverage"],
                "level": null["level_or_power"],
                "old_coverage": null["old_coverage"],
                "heteroscedastic_coverage": hetero["coverage"],
                "heteroscedastic_level": hetero["level_or_power"],
                "power_0.02": power[0.02],
                "power_0.05": power[0.05],
                "power_more_hits": hits,
                "mean_permutations_null": null["mean_permutations"],
                "seconds": time.perf_counter() - t0,
            }
            rows.append(row)
            print(
                f"{dist:32} {name:18} coverage {row['coverage']:.3f} "
                f"(old {row['old_coverage']:.3f})"
                f"  level {row['level']:.3f}  hetero {row['heteroscedastic_coverage']:.3f}/"
                f"{row['heteroscedastic_level']:.3f}  power +0.02 {power[0.02]:.2f} "
                f"+0.05 {power[0.05]:.2f} hits {hits:.2f}  ({row['seconds']:.0f} s)",
                flush=True,
            )
    se = float(np.sqrt(0.95 * 0.05 / args.sims))
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "command": f"benchmarks/gap_coverage.py --sims {args.sims} "
        f"--permutations {args.permutations}" + (f" --run {args.run}" if args.run else ""),
        "sims": args.sims,
        "binomial_se_of_coverage": se,
        "seconds": time.perf_counter() - started,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"binomial standard error of a coverage: {se:.4f}; written to {args.out}")


if __name__ == "__main__":
    main()
