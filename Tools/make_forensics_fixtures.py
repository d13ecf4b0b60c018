#!/usr/bin/env python3
"""Generate the reference fixtures of the gfp verifier and Forensics test-suites.

Writes
  Tests/FingerprintVerifierTests/Fixtures/binomial.json
      {"tails": [{"n", "k", "p", "scipy_sf", "exact_sf", "exact_log_sf"}, ...],
       "thresholds": [{"n", "alpha", "candidates", "p", "k"}, ...]}
      scipy_sf     = scipy.stats.binom.sf(k - 1, n, p), or null where it is below 1e-300
                     (SciPy underflows or loses relative accuracy there);
      exact_sf     = P(X >= k) from exact integer arithmetic, rounded to float64, or null
                     below 1e-300;
      exact_log_sf = its natural logarithm, from the same exact sum through mpmath at 60 digits
                     (always present; -inf never occurs since k <= n).
      The exact sums treat p as the float64 the Swift side receives (fractions.Fraction(p)), so
      "exact" means exact for that input. thresholds: the least k with
      min(1, candidates * P(X >= k)) <= alpha, from the same exact sums (n + 1 when none).
  Tests/ForensicsTests/Fixtures/frechet.json
      {"cases": [{"name", "a": [[...], ...], "b": [[...], ...], "mu_distance2", "trace_a",
                  "trace_b", "trace_sqrt", "fd"}, ...]}
      Feature rows are drawn with numpy (seeded), rounded to 7 significant digits and the
      references computed from the rounded values in float64: mu = mean, sigma = np.cov(rowvar=False)
      (the unbiased N - 1 estimate), trace_sqrt = Tr(scipy.linalg.sqrtm(sigma_a @ sigma_b)).real,
      fd = |mu_a - mu_b|^2 + Tr(sigma_a) + Tr(sigma_b) - 2 trace_sqrt, as in the ICCV'19 code and
      pytorch-fid.

Run from anywhere with numpy, scipy and mpmath (the system python3 here has them):

    python3 Tools/make_forensics_fixtures.py

The output is deterministic for a given numpy/scipy version.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import scipy.linalg
from scipy.stats import binom

REPO_ROOT = Path(__file__).resolve().parent.parent
VERIFIER_FIXTURES = REPO_ROOT / "Tests" / "FingerprintVerifierTests" / "Fixtures"
FORENSICS_FIXTURES = REPO_ROOT / "Tests" / "ForensicsTests" / "Fixtures"
SMALLEST = 1e-300

mpmath.mp.dps = 60


class ExactTails:
    """All upper tails P(X >= k), k = 0...n + 1, of Binomial(n, p) as exact scaled integers."""

    def __init__(self, n: int, p: float):
        self.n = n
        fraction = Fraction(p)
        a, b = fraction.numerator, fraction.denominator  # p = a / b, q = (b - a) / b
        terms = [math.comb(n, i) * a**i * (b - a) ** (n - i) for i in range(n + 1)]
        self.denominator = b**n
        self.suffix = [0] * (n + 2)
        for i in range(n, -1, -1):
            self.suffix[i] = self.suffix[i + 1] + terms[i]

    def log_sf(self, k: int) -> mpmath.mpf:
        return mpmath.log(mpmath.mpf(self.suffix[k])) - mpmath.log(mpmath.mpf(self.denominator))

    def sf(self, k: int) -> Fraction:
        return Fraction(self.suffix[k], self.denominator)


def k_grid(n: int) -> list[int]:
    if n <= 40:
        return list(range(0, n + 1))
    mean, sd = n / 2, math.sqrt(n) / 2
    ks = {0, 1, n // 4, n - 1, n}
    for z in [-3, -1.5, -0.5, 0, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60]:
        ks.add(int(round(mean + z * sd)))
    for fraction in [0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99]:
        ks.add(int(round(fraction * n)))
    return sorted(k for k in ks if 0 <= k <= n)


def tail_cases() -> list[dict]:
    cases = []
    half_ns = [1, 2, 3, 5, 8, 10, 16, 31, 32, 40, 48, 64, 100, 128, 200, 256, 500, 512, 1000, 1024, 2048, 3000, 4096]
    general = [(0.1, [10, 100, 1000, 4096]), (0.25, [16, 128, 1024]), (0.3, [7, 100, 2048]),
               (0.7, [50, 500, 4096]), (0.9, [20, 1000]), (0.01, [100, 4096]), (0.999, [64, 512])]
    grid = [(n, 0.5) for n in half_ns] + [(n, p) for p, ns in general for n in ns]
    for n, p in grid:
        exact = ExactTails(n, p)
        ks = set(k_grid(n))
        if p == 0.5 and n == 100:
            ks.add(75)
        if p == 0.5 and n == 128:
            ks.update([97, 110, 121])
        if p == 0.5 and n == 4096:
            ks.update([2100, 2500, 3000, 3500, 4000, 4090])
        for k in sorted(ks):
            log_sf = exact.log_sf(k)
            exact_sf = float(mpmath.exp(log_sf))
            scipy_sf = float(binom.sf(k - 1, n, p))
            cases.append({
                "n": n, "k": k, "p": p,
                "scipy_sf": scipy_sf if scipy_sf >= SMALLEST else None,
                "exact_sf": exact_sf if exact_sf >= SMALLEST else None,
                "exact_log_sf": float(log_sf),
            })
    return cases


def threshold_cases() -> list[dict]:
    cases = []
    for n, p in [(48, 0.5), (64, 0.5), (100, 0.5), (128, 0.5), (256, 0.5), (1024, 0.5), (4096, 0.5), (128, 0.3)]:
        exact = ExactTails(n, p)
        for alpha in [0.5, 0.05, 1e-3, 1e-6, 1e-9, 1e-12, 1e-20, 1e-40, 1e-100]:
            for candidates in [1, 1000, 10**7]:
                bound = Fraction(alpha) / candidates
                k = next((k for k in range(n + 2) if exact.sf(k) <= bound), n + 1)
                cases.append({"n": n, "alpha": alpha, "candidates": candidates, "p": p, "k": k})
    return cases


def rounded(x: np.ndarray) -> np.ndarray:
    return np.array([[float(f"{v:.7g}") for v in row] for row in x])


def frechet_cases() -> list[dict]:
    rng = np.random.default_rng(20191027)
    cases = []

    def add(name: str, a: np.ndarray, b: np.ndarray) -> None:
        a, b = rounded(a), rounded(b)
        mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
        sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        covmean = scipy.linalg.sqrtm(sigma_a @ sigma_b)
        trace_sqrt = float(np.trace(covmean).real)
        mu_distance2 = float(((mu_a - mu_b) ** 2).sum())
        fd = mu_distance2 + float(np.trace(sigma_a)) + float(np.trace(sigma_b)) - 2 * trace_sqrt
        cases.append({"name": name, "a": a.tolist(), "b": b.tolist(), "mu_distance2": mu_distance2,
                      "trace_a": float(np.trace(sigma_a)), "trace_b": float(np.trace(sigma_b)),
                      "trace_sqrt": trace_sqrt, "fd": fd})

    add("isotropic_d4", rng.normal(size=(30, 4)), rng.normal(loc=0.5, size=(40, 4)))
    mix = rng.normal(size=(8, 8))
    add("correlated_d8", rng.normal(size=(60, 8)) @ mix, rng.normal(size=(50, 8)) @ mix * 1.3 + 2)
    add("same_distribution_d16", rng.normal(size=(100, 16)), rng.normal(size=(100, 16)))
    scales = np.geomspace(1e-2, 1e2, 24)
    add("anisotropic_d24", rng.normal(size=(90, 24)) * scales,
        rng.normal(size=(120, 24)) @ rng.normal(size=(24, 24)) * 0.3)
    add("shifted_d32", rng.normal(size=(80, 32)), rng.normal(loc=-1.0, scale=2.0, size=(70, 32)))
    return cases


def write(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def main() -> None:
    tails = tail_cases()
    worst = max((abs(c["scipy_sf"] - c["exact_sf"]) / c["exact_sf"] for c in tails
                 if c["scipy_sf"] is not None and c["exact_sf"] is not None), default=0)
    print(f"{len(tails)} tail cases; largest relative difference SciPy vs exact: {worst:.2e}")
    write(VERIFIER_FIXTURES / "binomial.json", {"tails": tails, "thresholds": threshold_cases()})
    write(FORENSICS_FIXTURES / "frechet.json", {"cases": frechet_cases()})


if __name__ == "__main__":
    main()
