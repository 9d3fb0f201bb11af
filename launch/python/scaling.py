"""The body of launch/scaling (see there for usage)."""
import argparse, csv, json, math, os, subprocess, sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

BIN = ".build/release/rnntrain"
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def bench(config, steps, batch, ranks, mpi_flags, sets=()):
    """One `rnntrain bench --json` run; mpi_flags None means a plain single process."""
    args = [BIN, "bench", "--config", config, "--steps", str(steps), "--json", "--set", f"train.global_batch={batch}"]
    for setting in sets:
        args += ["--set", setting]
    if mpi_flags is not None:
        args = ["mpirun", "-np", str(ranks), "-x", "OPENBLAS_NUM_THREADS"] + mpi_flags + args
    out = subprocess.run(args, env=ENV, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"scaling: {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cluster(hosts, rate):
    subprocess.run(["launch/cluster", "up", str(hosts), "--rate", rate], check=True, stdout=subprocess.DEVNULL)
    flags = subprocess.run(["launch/cluster", "flags"], check=True, capture_output=True, text=True).stdout.split()
    # Ring allreduce, the algorithm the projection models.
    return flags + ["--mca", "coll_tuned_use_dynamic_rules", "1", "--mca", "coll_tuned_allreduce_algorithm", "4"]


def measure(a):
    batch = int(next(l.split(":")[1] for l in open(a.config) if l.strip().startswith("global_batch")))
    rows = []

    def record(where, mode, ranks, r, base):
        tps = r["tokensPerSecond"]
        rows.append(dict(where=where, mode=mode, ranks=ranks, global_batch=r["globalBatch"], tokens_per_s=round(tps),
                         efficiency=round(tps / (ranks * base), 3), step_s=r["stepSeconds"],
                         compute_s=r["computeSeconds"], exposed_reduction=round(r["reductionExposed"], 4),
                         allreduce_s=r["allreduceSeconds"], gradient_bytes=int(r["gradientBytes"]),
                         backward=r["backward"]))
        print(f"  {where:8s} {mode:6s} {ranks} ranks  B {r['globalBatch']:4d}  {tps:9.0f} tok/s  "
              f"efficiency {rows[-1]['efficiency']:.3f}  exposed reduction {100 * r['reductionExposed']:.1f}%", flush=True)

    print(f"scaling {a.config}: {a.steps} timed steps per run", flush=True)
    one = bench(a.config, a.steps, batch, 1, None)
    record("local", "strong", 1, one, one["tokensPerSecond"])
    rows.append(dict(rows[-1], mode="weak"))
    base = one["tokensPerSecond"]
    local = ["--bind-to", "core"]
    record("local", "strong", 2, bench(a.config, a.steps, batch, 2, local), base)
    record("local", "weak", 2, bench(a.config, a.steps, 2 * batch, 2, local), base)
    try:
        for hosts in (2, 4):
            flags = cluster(hosts, a.rate)
            record(f"{hosts} hosts", "strong", hosts, bench(a.config, a.steps, batch, hosts, flags), base)
            record(f"{hosts} hosts", "weak", hosts, bench(a.config, a.steps, hosts * batch, hosts, flags), base)
    finally:
        subprocess.run(["launch/cluster", "down"], check=False)
    return rows


def write(rows, out):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "scaling.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for where, marker in (("local", "o"), ("hosts", "s")):
        for mode, style in (("strong", "-"), ("weak", "--")):
            sel = [r for r in rows if (where in r["where"]) and r["mode"] == mode or (r["ranks"] == 1 and r["mode"] == mode)]
            sel.sort(key=lambda r: r["ranks"])
            label = f"{'this machine' if where == 'local' else 'emulated hosts'}, {mode}"
            axes[0].plot([r["ranks"] for r in sel], [r["tokens_per_s"] for r in sel], style, marker=marker, label=label)
            axes[1].plot([r["ranks"] for r in sel], [r["efficiency"] for r in sel], style, marker=marker, label=label)
    axes[0].set_ylabel("tokens/s (global)")
    axes[1].set_ylabel("efficiency (tokens/s ÷ ranks × one rank)")
    for ax in axes:
        ax.set_xlabel("ranks")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scaling.png"), dpi=110)
    print(f"wrote {path} and {os.path.join(out, 'scaling.png')}")


def table(rows):
    print(f"{'where':9s} {'mode':6s} {'ranks':>5s} {'B':>5s} {'tokens/s':>10s} {'efficiency':>10s} {'exposed':>8s} {'allreduce':>10s}")
    for r in rows:
        print(f"{r['where']:9s} {r['mode']:6s} {r['ranks']:5d} {r['global_batch']:5d} {r['tokens_per_s']:10d} "
              f"{r['efficiency']:10.3f} {100 * r['exposed_reduction']:7.1f}% {1e3 * r['allreduce_s']:8.1f}ms")


def ring(P, n, alpha, beta):
    """Ring allreduce of n bytes over P nodes: 2(P−1) latency terms and 2(P−1)/P · n bytes per link."""
    return 0.0 if P == 1 else 2 * (P - 1) * alpha + 2 * (P - 1) / P * n / beta


def project(rows, a):
    alpha, beta = a.latency * 1e-6, a.bandwidth * 1e9 / 8
    one = next(r for r in rows if r["ranks"] == 1)
    n, compute, backward = one["gradient_bytes"], one["compute_s"], one["backward"] * one["step_s"]
    # The embedding's bucket, last to finish, cannot overlap anything; bound it by a tenth of n.
    print("Projection: α-β model of ring allreduce (weak scaling, one rank per node, batch per rank fixed)")
    print(f"  assumptions: link {a.bandwidth} Gbit/s full duplex per node (β = {beta / 1e6:.0f} MB/s), latency α = {a.latency} µs,")
    print(f"  gradient n = {n / 1e6:.1f} MB, compute per step {compute * 1e3:.0f} ms of which backward {backward * 1e3:.0f} ms (measured here, 1 rank);")
    print("  no overlap: step = compute + T_ring(P); overlap: buckets reduce during backward, so only what")
    print("  exceeds the backward time is exposed: step = compute + max(0, T_ring(P) − backward); no contention, no stragglers.")
    out = []
    print(f"{'nodes':>6s} {'T_ring':>9s} {'eff. no overlap':>16s} {'eff. overlap':>13s}")
    for P in (2, 4, 8, 16, 32, 64, 128, 256, 512):
        t = ring(P, n, alpha, beta)
        e0, e1 = compute / (compute + t), compute / (compute + max(0.0, t - backward))
        out.append(dict(nodes=P, ring_s=t, efficiency_no_overlap=e0, efficiency_overlap=e1))
        print(f"{P:6d} {1e3 * t:7.1f}ms {e0:16.3f} {e1:13.3f}")
    two = next((r for r in rows if r["where"] == "2 hosts" and r["mode"] == "weak"), None)
    if two and two["allreduce_s"] > 0:
        # What the emulated link really delivers, from the 2-host allreduce: β_eff.
        effective = 2 * (2 - 1) / 2 * n / max(1e-9, two["allreduce_s"] - 2 * alpha)
        print(f"  calibration: the 2-host allreduce took {1e3 * two['allreduce_s']:.0f} ms, so the emulated link delivers "
              f"β_eff = {effective / 1e6:.0f} MB/s of its nominal {beta / 1e6:.0f}")
    else:
        effective = beta
    print("Check on the emulated cluster (measured compute of that run + projected exposed communication):")
    for r in rows:
        if "hosts" not in r["where"] or r["mode"] != "weak":
            continue
        t = ring(r["ranks"], n, alpha, beta)
        back = r["backward"] * r["step_s"]
        predicted = r["compute_s"] + max(0.0, t - back)
        err = (predicted - r["step_s"]) / r["step_s"]
        calibrated = ring(r["ranks"], n, alpha, effective)
        print(f"  {r['where']}: step predicted {1e3 * predicted:.0f} ms, measured {1e3 * r['step_s']:.0f} ms ({100 * err:+.1f}%); "
              f"allreduce alone measured {1e3 * r['allreduce_s']:.0f} ms, predicted {1e3 * t:.0f} ms at nominal β "
              f"({100 * (t - r['allreduce_s']) / max(r['allreduce_s'], 1e-9):+.0f}%), {1e3 * calibrated:.0f} ms at β_eff "
              f"({100 * (calibrated - r['allreduce_s']) / max(r['allreduce_s'], 1e-9):+.0f}%)")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "projection.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(out[0].keys()))
        w.writeheader()
        w.writerows(out)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.semilogx([o["nodes"] for o in out], [o["efficiency_no_overlap"] for o in out], "o-", base=2, label="no overlap")
    ax.semilogx([o["nodes"] for o in out], [o["efficiency_overlap"] for o in out], "s-", base=2, label="overlap")
    ax.set_xlabel("nodes")
    ax.set_ylabel("projected efficiency")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"{a.bandwidth} Gbit/s, α {a.latency} µs, n {n / 1e6:.1f} MB")
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "projection.png"), dpi=110)
    print(f"wrote {os.path.join(a.out, 'projection.csv')} and {os.path.join(a.out, 'projection.png')}")


def links(a):
    """Issue 23 item 5: weak scaling on 2, 4 and 8 emulated hosts whose links are shaped to each
    rate, with the fp32 and the bf16 wire; each step split into compute, exposed communication
    and optimizer; the α-β model fitted to the allreduce alone on 2 and 4 hosts, checked at 8,
    then projected."""
    batch = int(next(l.split(":")[1] for l in open(a.config) if l.strip().startswith("global_batch")))
    precision = [f"train.precision={a.precision}"]
    one = bench(a.config, a.steps, batch, 1, None, precision)
    rows = []
    hosts = [int(h) for h in a.hosts.split(",")]
    try:
        for rate in a.rates.split(","):
            for P in hosts:
                flags = cluster(P, rate)
                for wire in ("fp32", "bf16"):
                    r = bench(a.config, a.steps, P * batch, P, flags, precision + [f"train.reduce={wire}"])
                    step = r["stepSeconds"]
                    rows.append(dict(rate=rate, hosts=P, wire=wire, step_s=step, compute_s=r["computeSeconds"],
                                     backward_s=r["backward"] * step, exposed_s=r["reductionExposed"] * step,
                                     optimizer_s=r["optimizer"] * step, allreduce_s=r["allreduceSeconds"],
                                     gradient_bytes=r["gradientBytes"], tokens_per_s=r["tokensPerSecond"],
                                     efficiency=r["tokensPerSecond"] / (P * one["tokensPerSecond"])))
                    print(f"  {rate:7s} {P} hosts {wire}: step {1e3 * step:.0f} ms = compute {1e3 * rows[-1]['compute_s']:.0f} | "
                          f"exposed {1e3 * rows[-1]['exposed_s']:.0f} | optimizer {1e3 * rows[-1]['optimizer_s']:.0f} ms; "
                          f"allreduce alone {1e3 * r['allreduceSeconds']:.0f} ms", flush=True)
    finally:
        subprocess.run(["launch/cluster", "down"], check=False)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "links.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print("| rate | hosts | wire | step ms | compute ms | exposed ms | optimizer ms | efficiency | exposed fp32 ÷ bf16 |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        pair = [q for q in rows if q["rate"] == r["rate"] and q["hosts"] == r["hosts"]]
        ratio = pair[0]["exposed_s"] / max(pair[1]["exposed_s"], 1e-9) if r["wire"] == "bf16" and len(pair) == 2 else None
        print(f"| {r['rate']} | {r['hosts']} | {r['wire']} | {1e3 * r['step_s']:.0f} | {1e3 * r['compute_s']:.0f} | "
              f"{1e3 * r['exposed_s']:.0f} | {1e3 * r['optimizer_s']:.0f} | {r['efficiency']:.2f} | {'' if ratio is None else f'{ratio:.2f}'} |")
    fit_and_project(rows, hosts, a.out)


def fit(points):
    """α, β of T = 2(P−1)α + 2(P−1)/P · n/β by least squares over (P, n, T): linear in α and 1/β."""
    xs = [(2 * (P - 1), 2 * (P - 1) / P * n) for P, n, _ in points]
    ts = [t for _, _, t in points]
    s11 = sum(x[0] * x[0] for x in xs); s12 = sum(x[0] * x[1] for x in xs); s22 = sum(x[1] * x[1] for x in xs)
    b1 = sum(x[0] * t for x, t in zip(xs, ts)); b2 = sum(x[1] * t for x, t in zip(xs, ts))
    det = s11 * s22 - s12 * s12
    alpha, inverse_beta = (b1 * s22 - b2 * s12) / det, (s11 * b2 - s12 * b1) / det
    return max(alpha, 0.0), 1 / max(inverse_beta, 1e-15)


def fit_and_project(rows, hosts, out):
    projection = []
    for rate in sorted({r["rate"] for r in rows}):
        fp32 = [r for r in rows if r["rate"] == rate and r["wire"] == "fp32"]
        small = [(r["hosts"], r["gradient_bytes"], r["allreduce_s"]) for r in fp32 if r["hosts"] < max(hosts)]
        if len(small) >= 2:
            alpha, beta = fit(small)
            for r in fp32:
                if r["hosts"] == max(hosts):
                    t = ring(r["hosts"], r["gradient_bytes"], alpha, beta)
                    print(f"{rate}: α-β fitted on {sorted(h for h, _, _ in small)} hosts: α {1e6 * alpha:.0f} µs, β {beta / 1e6:.0f} MB/s; "
                          f"at {r['hosts']} hosts the allreduce alone predicted {1e3 * t:.0f} ms, measured {1e3 * r['allreduce_s']:.0f} ms "
                          f"({100 * (t - r['allreduce_s']) / r['allreduce_s']:+.0f}%)")
        alpha, beta = fit([(r["hosts"], r["gradient_bytes"], r["allreduce_s"]) for r in fp32])
        base = min(fp32, key=lambda r: r["hosts"])
        for P in (16, 32, 64, 128, 256, 512):
            row = dict(rate=rate, nodes=P)
            for wire, n in (("fp32", base["gradient_bytes"]), ("bf16", base["gradient_bytes"] / 2)):
                t = ring(P, n, alpha, beta)
                work = base["compute_s"] + base["optimizer_s"]
                row[f"efficiency_{wire}"] = work / (work + max(0.0, t - base["backward_s"]))
            projection.append(row)
        print(f"{rate}: fitted on all hosts α {1e6 * alpha:.0f} µs, β {beta / 1e6:.0f} MB/s; projected efficiency (overlap with backward):")
        for row in projection:
            if row["rate"] == rate:
                print(f"  {row['nodes']:4d} nodes: fp32 wire {row['efficiency_fp32']:.3f}, bf16 wire {row['efficiency_bf16']:.3f}")
    with open(os.path.join(out, "links-projection.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(projection[0].keys()))
        w.writeheader()
        w.writerows(projection)
    fig, ax = plt.subplots(figsize=(6, 4))
    for rate in sorted({r["rate"] for r in projection}):
        sel = [r for r in projection if r["rate"] == rate]
        for wire, style in (("fp32", "o-"), ("bf16", "s--")):
            ax.semilogx([r["nodes"] for r in sel], [r[f"efficiency_{wire}"] for r in sel], style, base=2, label=f"{rate}, {wire} wire")
    ax.set_xlabel("nodes")
    ax.set_ylabel("projected efficiency")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "links-projection.png"), dpi=110)
    print(f"wrote {out}/links.csv, links-projection.csv and links-projection.png")


def main():
    p = argparse.ArgumentParser(prog="launch/scaling")
    p.add_argument("--config", default="configs/bench/lstm-2x512.yaml")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--rate", default="1gbit", help="emulated link rate (tc syntax)")
    p.add_argument("--out", default="runs/scaling")
    p.add_argument("--project", action="store_true")
    p.add_argument("--bandwidth", type=float, default=1.0, help="projection: link Gbit/s")
    p.add_argument("--latency", type=float, default=100.0, help="projection: link latency in µs")
    p.add_argument("--links", action="store_true", help="weak scaling on emulated hosts per link rate and wire, α-β fit")
    p.add_argument("--hosts", default="2,4,8", help="--links: emulated host counts")
    p.add_argument("--rates", default="10gbit,1gbit", help="--links: link rates (tc syntax)")
    p.add_argument("--precision", default="bf16", help="--links: train.precision")
    a = p.parse_args()
    if a.links:
        return links(a)
    path = os.path.join(a.out, "scaling.csv")
    if a.project and os.path.exists(path):
        with open(path) as f:
            rows = [dict(r, ranks=int(r["ranks"]), global_batch=int(r["global_batch"]), tokens_per_s=int(r["tokens_per_s"]),
                         **{k: float(r[k]) for k in ("efficiency", "step_s", "compute_s", "exposed_reduction",
                                                      "allreduce_s", "gradient_bytes", "backward")}) for r in csv.DictReader(f)]
    else:
        rows = measure(a)
        write(rows, a.out)
    table(rows)
    if a.project:
        project(rows, a)


if __name__ == "__main__":
    main()
