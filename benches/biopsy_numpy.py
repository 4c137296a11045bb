"""The liquid-biopsy screening cohort vectorised with NumPy, for `cargo bench --bench biopsy`.

The Rust benchmark writes one `ScreeningModel` (crates/exosim/src/biopsy/
screening.rs), threshold already resolved, as JSON; this script simulates
the SAME model for a cohort of N individuals, vectorised over individuals:
every step of `ScreeningModel::screen_individual` is done for all the
individuals still being screened at once, and individuals leave the arrays
at their first detection (or when the schedule ends), as they leave the
loop in Rust. Random numbers come from `numpy.random.Generator(PCG64(seed))`,
so they differ from Rust's per-individual streams (and Rust draws with its own
exact samplers: PTRS/inversion Poisson, BTRS/inversion binomial, Beta as a
ratio of Marsaglia-Tsang gammas): the two implementations agree
statistically, not bit for bit.

It prints JSON on stdout: seconds, individuals_per_second, the detected
share, the median (with a 95 % order-statistic interval), mean and standard
deviation of the time and the diameter at detection, and the peak resident
memory of the process.

Usage: python3 benches/biopsy_numpy.py params.json N
"""

import json
import math
import resource
import sys
import time

import numpy as np

# Above this mean, `measurement::poisson` switches to a normal approximation.
POISSON_NORMAL_ABOVE = 1e18
# `measurement::thin` switches to a normal approximation at n >= 1.8e19 (u64);
# NumPy's binomial takes int64 counts, so the switch happens at 9e18 here.
# Counts that large never occur in a plasma sample (~1e13 /mL at most).
BINOMIAL_NORMAL_ABOVE = 9e18
# kinetics.rs: FORGETFUL_KH, above which exp(-k h) is exactly 0.
FORGETFUL_KH = 745.2


class Model:
    """The fields of `ScreeningModel` that a cohort needs (SI units)."""

    def __init__(self, p):
        g = p["growth"]
        self.law = g["law"]
        self.rate = g["rate"]
        self.capacity = g.get("capacity")
        self.n0 = p["initial_cells"]
        self.cells_per_m3 = p["cells_per_m3"]
        sh = p["shedding"]
        # Shedding::rate_per_cell: f (q_live + q_death δ).
        self.source_per_cell = sh["fraction_to_blood"] * (
            sh["per_live_cell"] + sh["per_dying_cell"] * sh["death_rate"]
        )
        bl = p["blood"]
        self.background = bl["background"]
        self.elimination_rate = bl["elimination_rate"]
        self.plasma_volume = bl["plasma_volume"]
        v = p["variability"]
        self.background_cv = v["background_cv"]
        self.shedding_cv = v["shedding_cv"]
        self.elimination_cv = v["elimination_cv"]
        pr = p["protocol"]
        # BloodDraw::plasma_volume and Protocol::analysed_volume.
        drawn = pr["draw"]["blood_volume"] * pr["draw"]["plasma_fraction"]
        a = pr["assay"]
        iv = a["input_volume"]
        self.volume = drawn if iv is None else min(iv, drawn)
        iso = pr["isolation"]
        self.recovery_mean = iso["recovery_mean"]
        self.recovery_cv = iso["recovery_cv"]
        self.carry_over = iso["nonvesicle_carry_over"]
        self.counts = pr["sampling"] == "counts"
        self.lipoproteins = pr["lipoprotein_concentration"]
        self.gain = a["gain"]
        self.offset = a["offset"]
        self.cv = a["cv"]
        self.lod = a["lod"]
        self.weight = a["nonvesicle_weight"]
        self.replicates = a["replicates"]
        self.threshold = p["threshold"]
        self.interval = p["interval"]
        self.duration = p["duration"]
        self.max_step = p["max_step"]
        self.deterministic = p["deterministic"]

    # growth.rs: GrowthLaw::cells (closed forms).
    def cells(self, t):
        if self.law == "exponential":
            return self.n0 * np.exp(self.rate * t)
        if self.law == "logistic":
            k = self.capacity
            return k / (1.0 + (k / self.n0 - 1.0) * np.exp(-self.rate * t))
        k = self.capacity  # Gompertz: K exp(ln(N0/K) e^{-rt})
        return k * np.exp(math.log(self.n0 / k) * np.exp(-self.rate * t))

    # growth.rs: GrowthLaw::ln_cells (ln N(t) directly).
    def ln_cells(self, t):
        if self.law == "exponential":
            return math.log(self.n0) + self.rate * t
        k = self.capacity
        if self.law == "logistic":
            return math.log(k) - np.log1p((k / self.n0 - 1.0) * np.exp(-self.rate * t))
        return math.log(k) + math.log(self.n0 / k) * np.exp(-self.rate * t)

    # growth.rs: diameter (sphere at cells_per_m3).
    def diameter(self, cells):
        return np.cbrt(6.0 * cells / (math.pi * self.cells_per_m3))

    # measurement.rs: Isolation::beta_parameters.
    def beta_parameters(self):
        if self.recovery_cv == 0.0 or self.recovery_mean >= 1.0:
            return None
        m = self.recovery_mean
        var = (self.recovery_cv * m) ** 2
        nu = m * (1.0 - m) / var - 1.0
        return m * nu, (1.0 - m) * nu

    # measurement.rs: Protocol::nonvesicle_bias.
    def nonvesicle_bias(self):
        return self.lipoproteins * self.carry_over * self.weight / self.recovery_mean


# screening.rs: lognormal_factor (mean 1, CV cv; 1 when cv <= 0).
def lognormal_factor(rng, cv, n):
    if cv <= 0.0:
        return np.ones(n)
    s2 = math.log(1.0 + cv * cv)
    return rng.lognormal(-0.5 * s2, math.sqrt(s2), n)


# kinetics.rs: constant_source_integral, B (1 - e^{-k tau}) / k (0 when B = 0).
def constant_source_integral(b, k, tau):
    return np.where(b == 0.0, 0.0, -b * np.expm1(-k * tau) / k)


# kinetics.rs: growing_source_integral, both branches (x < 1 with phi1, else the difference).
def growing_source_integral(s0, gamma, k, tau):
    x = (gamma + k) * tau
    small = x < 1.0
    phi1 = np.where(x == 0.0, 1.0, np.expm1(np.where(small, x, 0.0)) / np.where(x == 0.0, 1.0, x))
    near = s0 * np.exp(-k * tau) * tau * phi1
    far = s0 * (np.exp(np.where(small, 0.0, gamma * tau)) - np.exp(-k * tau)) / (gamma + k)
    out = np.where(small, near, far)
    return np.where((s0 == 0.0) | (tau <= 0.0), 0.0, out)


# kinetics.rs: exponential_integrator_step (source exponential within the
# step; the constant mean of the two ends when either is zero).
def exponential_integrator_step(amount, s_start, s_end, b, k, dt):
    both = (s_start > 0.0) & (s_end > 0.0)
    ratio = np.where(both, s_end / np.where(both, s_start, 1.0), 1.0)
    s0 = np.where(both, s_start, 0.5 * (s_start + s_end))
    gamma = np.where(both, np.log(ratio) / dt, 0.0)
    return (
        amount * np.exp(-k * dt)
        + constant_source_integral(b, k, dt)
        + growing_source_integral(s0, gamma, k, dt)
    )


# kinetics.rs: MarkerKinetics::advance, from t0 to t1 (arrays) in
# ceil(span / max_step) equal steps (one for exponential growth), the last
# step ending exactly at t1; individuals with span <= 0 keep their amount.
def advance(model, amount, t0, t1, spc, b, k):
    span = t1 - t0
    if model.law == "exponential":
        steps = np.ones(span.shape, dtype=np.int64)
    else:
        steps = np.maximum(np.ceil(span / model.max_step), 1.0).astype(np.int64)
    steps[span <= 0.0] = 0
    h = span / np.maximum(steps, 1)
    # Same shortcut as MarkerKinetics::advance: where one step forgets its
    # start (k h > FORGETFUL_KH, exp(-k h) underflows to 0), only the last
    # step matters, and its exact solution is the quasi-steady amount
    # B/k + S1/(gamma + k) with gamma = ln(S1/S0)/h from ln N directly.
    forget = (span > 0.0) & (k * h > FORGETFUL_KH)
    if forget.any():
        out = np.empty_like(amount)
        hf, kf, bf = h[forget], k[forget], b[forget]
        t_a = t0[forget] + hf * (steps[forget] - 1)
        ln_a = model.ln_cells(t_a)
        ln_b = model.ln_cells(t1[forget])
        gamma = (ln_b - ln_a) / hf
        s1 = spc[forget] * np.exp(ln_b)
        closed = (s1 > 0.0) & np.isfinite(s1) & ((gamma + kf) * hf >= 1.0)
        if closed.all():
            out[forget] = bf / kf + s1 / (gamma + kf)
        else:
            out[forget] = np.where(
                closed,
                bf / kf + s1 / np.where(closed, gamma + kf, 1.0),
                exponential_integrator_step(
                    np.zeros(hf.size), spc[forget] * model.cells(t_a), spc[forget] * model.cells(t1[forget]), bf, kf, hf
                ),
            )
        keep = ~forget
        if keep.any():
            out[keep] = advance(model, amount[keep], t0[keep], t1[keep], spc[keep], b[keep], k[keep])
        return out
    m = amount.copy()
    s_a = spc * model.cells(t0)
    for i in range(1, int(steps.max(initial=0)) + 1):
        on = steps >= i
        if on.all():
            last = steps == i
            t_b = np.where(last, t1, t0 + h * i)
            s_b = spc * model.cells(t_b)
            m = exponential_integrator_step(m, s_a, s_b, b, k, h)
            s_a = s_b
        else:
            last = steps[on] == i
            t_b = np.where(last, t1[on], t0[on] + h[on] * i)
            s_b = spc[on] * model.cells(t_b)
            m[on] = exponential_integrator_step(m[on], s_a[on], s_b, b[on], k[on], h[on])
            s_a[on] = s_b
    return m


# measurement.rs: poisson (0 for mean <= 0 or NaN; normal approximation above 1e18).
def poisson(rng, lam):
    lam = np.asarray(lam, dtype=float)
    out = np.zeros(lam.shape)
    ok = lam > 0.0  # False for NaN too
    small = ok & (lam < POISSON_NORMAL_ABOVE)
    big = ok & ~small
    out[small] = rng.poisson(lam[small])
    if big.any():
        z = rng.standard_normal(int(big.sum()))
        out[big] = np.maximum(np.round(lam[big] + np.sqrt(lam[big]) * z), 0.0)
    return out


# measurement.rs: thin (binomial thinning; all kept when p >= 1).
def thin(rng, n, p):
    out = np.where(p >= 1.0, n, 0.0)
    go = (n > 0.0) & (p > 0.0) & (p < 1.0)
    small = go & (n < BINOMIAL_NORMAL_ABOVE)
    big = go & ~small
    out[small] = rng.binomial(n[small].astype(np.int64), p[small])
    if big.any():
        z = rng.standard_normal(int(big.sum()))
        npb = n[big] * p[big]
        out[big] = np.maximum(np.round(npb + np.sqrt(npb * (1.0 - p[big])) * z), 0.0)
    return out


# screening.rs: ScreeningModel::screening_test -> measurement.rs:
# TestSampler::measure (without the sample's total) and, for positive tests,
# TestSampler::without_tumour. Returns (positive, background_positive): a
# detection is positive and not background_positive.
def test(model, rng, c, c_background):
    if model.deterministic:  # Protocol::expected_estimate, noise-free
        e = c + model.nonvesicle_bias()
        eb = c_background + model.nonvesicle_bias()
        return (e >= model.lod) & (e > model.threshold), (eb >= model.lod) & (eb > model.threshold)
    n = c.size
    volume = model.volume
    expected = np.maximum(c, 0.0) * volume
    # Isolation: recovery ~ Beta(mean, CV), or the fixed mean.
    bp = model.beta_parameters()
    recovery = rng.beta(bp[0], bp[1], n) if bp is not None else np.full(n, model.recovery_mean)
    # Draw and isolation: the binomial thinning of a Poisson(C V) sample is
    # Poisson(C V r), drawn directly (as in Rust).
    if model.counts:
        isolated = poisson(rng, expected * recovery)
    else:
        isolated = expected * recovery
    # Co-isolated lipoproteins seen by the assay.
    seen_mean = model.lipoproteins * volume * model.carry_over * model.weight
    if model.counts:
        nonvesicle = poisson(rng, np.full(n, seen_mean)) if seen_mean > 0.0 else np.zeros(n)
    else:
        nonvesicle = np.full(n, seen_mean)
    # Assay: log-normal reading noise averaged over replicates.
    if model.cv > 0.0:
        s2 = math.log(1.0 + model.cv * model.cv)
        noise = rng.lognormal(-0.5 * s2, math.sqrt(s2), (model.replicates, n)).mean(axis=0)
    else:
        noise = np.ones(n)

    def positive(iso, nv, eps):
        signal = (model.gain * (iso + nv) + model.offset) * eps
        estimate = (signal - model.offset) / (model.gain * volume * model.recovery_mean)
        return (estimate >= model.lod) & (estimate > model.threshold)

    pos = positive(isolated, nonvesicle, noise)
    # The same test without the tumour's share: the isolated vesicles thinned
    # to the background's share, same recovery, lipoproteins and noise.
    background_positive = np.zeros(n, dtype=bool)
    if pos.any():
        share = np.minimum(np.where(c[pos] > 0.0, c_background[pos] / np.where(c[pos] > 0.0, c[pos], 1.0), 1.0), 1.0)
        if model.counts:
            iso_b = thin(rng, isolated[pos], share)
        else:
            iso_b = isolated[pos] * share
        background_positive[pos] = positive(iso_b, nonvesicle[pos], noise[pos])
    return pos, background_positive


# screening.rs: ScreeningModel::screen_individual for a whole cohort:
# individuals (sample_individual: background, shedding, elimination factors),
# a random phase in [0, interval), tests at phase + j * interval <= duration,
# the blood amount advanced between tests from the tumour-free steady state
# B/k at t = 0; the first positive test that the background alone would not
# give is the detection (time and diameter); the others are false positives.
def screen(model, n, rng):
    if model.deterministic:
        b = np.full(n, model.background)
        spc = np.full(n, model.source_per_cell)
        k = np.full(n, model.elimination_rate)
        phase = np.zeros(n)
    else:
        b = model.background * lognormal_factor(rng, model.background_cv, n)
        spc = model.source_per_cell * lognormal_factor(rng, model.shedding_cv, n)
        k = model.elimination_rate * lognormal_factor(rng, model.elimination_cv, n)
        phase = rng.random(n) * model.interval
    times = []
    diameters = []
    tests = 0
    false_positives = 0
    idx = np.arange(n)
    t = np.zeros(n)
    m = b / k  # BloodKinetics::baseline_amount
    j = 0
    while idx.size:
        at = phase + j * model.interval
        go = at <= model.duration
        if not go.all():
            idx, at, t, m, phase, b, spc, k = (x[go] for x in (idx, at, t, m, phase, b, spc, k))
            if not idx.size:
                break
        m = advance(model, m, t, at, spc, b, k)
        t = at
        tests += idx.size
        pos, background_pos = test(model, rng, m / model.plasma_volume, b / k / model.plasma_volume)
        false_positives += int(background_pos.sum())
        found = pos & ~background_pos
        if found.any():
            cells = model.cells(at[found])
            times.append(at[found])
            diameters.append(model.diameter(cells))
            keep = ~found
            idx, t, m, phase, b, spc, k = (x[keep] for x in (idx, t, m, phase, b, spc, k))
        j += 1
    times = np.concatenate(times) if times else np.zeros(0)
    diameters = np.concatenate(diameters) if diameters else np.zeros(0)
    return times, diameters, tests, false_positives


def median_with_interval(x):
    """The sample median and its distribution-free 95 % interval (order statistics)."""
    if x.size == 0:
        return None, None, None
    s = np.sort(x)
    n = s.size
    half = 1.959963984540054 * math.sqrt(n) / 2.0
    lo = s[max(int(math.floor(n / 2.0 - half)), 0)]
    hi = s[min(int(math.ceil(n / 2.0 + half)), n - 1)]
    return float(np.median(s)), float(lo), float(hi)


def main():
    params = json.load(open(sys.argv[1]))
    n = int(float(sys.argv[2]))
    model = Model(params)
    seed = int(params.get("seed", 0))
    screen(model, min(n, 2000), np.random.Generator(np.random.PCG64(seed + 1)))  # warm-up
    rng = np.random.Generator(np.random.PCG64(seed))
    start = time.perf_counter()
    cpu_start = time.process_time()
    times, diameters, tests, false_positives = screen(model, n, rng)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    mt = median_with_interval(times)
    md = median_with_interval(diameters)
    json.dump(
        {
            "n": n,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "individuals_per_second": n / seconds,
            "detected": int(times.size),
            "detected_share": times.size / n,
            "tests": tests,
            "false_positives": false_positives,
            "median_time": mt[0],
            "median_time_interval": [mt[1], mt[2]],
            "median_diameter": md[0],
            "median_diameter_interval": [md[1], md[2]],
            "mean_time": float(times.mean()) if times.size else None,
            "mean_diameter": float(diameters.mean()) if diameters.size else None,
            "std_time": float(times.std()) if times.size else None,
            "std_diameter": float(diameters.std()) if diameters.size else None,
            # ru_maxrss is in KiB on Linux.
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
