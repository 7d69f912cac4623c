#!/usr/bin/env python3
"""Train a small, real model for the quickstart: least-squares linear regression on
synthetic "transaction amount -> fraud score" data, with no dependency but Python.

Writes the fitted model as a pickle and prints its RMSE on held-out data.
"""

from __future__ import annotations

import argparse
import math
import pickle
import random
from pathlib import Path


def make_data(n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        amount = rng.uniform(0, 1000)
        rows.append((amount, 0.002 * amount + 0.1 + rng.gauss(0, 0.15)))
    return rows


def fit(rows: list[tuple[float, float]]) -> tuple[float, float]:
    n = len(rows)
    mean_x = sum(x for x, _ in rows) / n
    mean_y = sum(y for _, y in rows) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in rows)
    var = sum((x - mean_x) ** 2 for x, _ in rows)
    slope = cov / var
    return slope, mean_y - slope * mean_x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    train = make_data(args.samples, args.seed)
    test = make_data(500, seed=10_000)
    slope, intercept = fit(train)
    rmse = math.sqrt(sum((slope * x + intercept - y) ** 2 for x, y in test) / len(test))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("wb") as handle:
        pickle.dump({"slope": slope, "intercept": intercept, "samples": args.samples}, handle)
    print(f"{rmse:.4f}")


if __name__ == "__main__":
    main()
