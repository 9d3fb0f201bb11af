"""The measurements of launch/bench-data: prepared datasets at 100 MB and 4 GB.

python3 launch/python/bench-data.py WORK TOOL CONFIG SIZES...

WORK holds the corpora (Tiny Shakespeare concatenated to each size, made by launch/bench-data)
and everything written here; TOOL is the release rnntrain; CONFIG the model trained (the
demo's 2 × 256 LSTM). For each size: `prepare` (char) at 1 and 2 ranks, throughput and peak
RSS; `prepare` (word) at 1 and 2 ranks; training from the prepared dataset at 1 and 2 ranks:
seconds from the process's start to its first step's line, peak RSS per rank, and tokens/s,
alternated with `rnntrain bench` of the same model (its in-memory synthetic tokens, today's
speed) in rounds, since this machine drifts. Prints Markdown tables and writes WORK/bench-data.csv.

Peak RSS of a command is the largest any of its processes reached (getrusage of the children,
which covers mpirun's ranks): per rank, shared page-cache pages included.
"""
import csv
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

MPIRUN = ["mpirun", "--oversubscribe", "--bind-to", "core", "-x", "OPENBLAS_NUM_THREADS", "-x", "OMP_NUM_THREADS"]


def fail(message):
    print(f"bench_data: {message}", file=sys.stderr)
    sys.exit(1)


def run(argv, ranks=1, first_line=None):
    """Runs TOOL argv (under mpirun for ranks > 1): (seconds, peak RSS bytes of any process,
    seconds until a stdout line starting with `first_line` appeared, stdout)."""
    command = (MPIRUN + ["-np", str(ranks)] if ranks > 1 else []) + argv
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    seen = None
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as p:
        for line in p.stdout:
            if seen is None and first_line and line.startswith(first_line):
                seen = time.monotonic() - started
            lines.append(line)
        status = p.wait()
    seconds = time.monotonic() - started
    if status != 0:
        fail(f"{' '.join(command)}: status {status}")
    # ru_maxrss is the largest child so far (KiB); a new peak shows only when it grew.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, (peak if peak > before else math.nan) * 1024, seen, "".join(lines)


def rss_of(argv, ranks=1, first_line=None):
    """As `run`, in a fresh Python process so that the peak belongs to this command alone."""
    probe = subprocess.run([sys.executable, __file__, "--probe", str(ranks), first_line or "", *argv],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        fail(probe.stderr.strip())
    return json.loads(probe.stdout.splitlines()[-1])


def prepare(tool, config, corpus, out, tokenizer, ranks):
    shutil.rmtree(out, ignore_errors=True)
    r = rss_of([tool, "prepare", "--config", config, "--set", f"data.path={corpus}", "--set", f"data.tokenizer={tokenizer}",
                "--out", str(out)], ranks)
    size = corpus.stat().st_size
    return {"what": f"prepare {tokenizer}", "size": size, "ranks": ranks, "seconds": r["seconds"],
            "mb_per_s": size / 1e6 / r["seconds"], "mb_per_s_per_rank": size / 1e6 / r["seconds"] / ranks,
            "peak_rss_mb": r["peak"] / 1e6}


def train(tool, config, dataset, run_dir, ranks, steps):
    shutil.rmtree(run_dir, ignore_errors=True)
    r = rss_of([tool, "train", "--config", config, "--set", f"data.path={dataset}", "--set", f"train.steps={steps}",
                "--set", "log.eval_every=0", "--set", "checkpoint.every=0", "--set", "log.every=10",
                "--run-dir", str(run_dir)], ranks, first_line="training ")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    rates = [rec["tokens_per_s"] for rec in records[1:]] or [records[-1]["tokens_per_s"]]
    return {"what": "train", "size": dataset_size(dataset), "ranks": ranks, "seconds": r["seconds"],
            "start_s": r["first"], "peak_rss_mb": r["peak"] / 1e6, "tokens_per_s": sum(rates) / len(rates)}


def bench(tool, config, ranks, steps):
    r = rss_of([tool, "bench", "--config", config, "--steps", str(steps), "--json"], ranks)
    report = json.loads(r["stdout"].splitlines()[-1])
    return {"what": "bench (synthetic tokens in memory)", "size": 0, "ranks": ranks, "seconds": r["seconds"],
            "peak_rss_mb": r["peak"] / 1e6, "tokens_per_s": report["tokensPerSecond"],
            "minimum_mb": report["minimumBytes"] / 1e6}


def dataset_size(path):
    return sum(f.stat().st_size for f in Path(path).iterdir() if f.name.endswith(".tokens"))


def cell(v):
    if isinstance(v, str):
        return v or "—"
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:,.2f}" if isinstance(v, float) else f"{v:,}"


def table(rows, columns):
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def main():
    if sys.argv[1:2] == ["--probe"]:
        ranks, first, argv = int(sys.argv[2]), sys.argv[3] or None, sys.argv[4:]
        seconds, peak, seen, stdout = run(argv, ranks, first)
        print(json.dumps({"seconds": seconds, "peak": peak, "first": seen, "stdout": stdout}))
        return
    work, tool, config, sizes = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    rows = []
    for size in sizes:
        corpus = work / f"corpus-{size}.txt"
        for tokenizer in ("char", "word"):
            for ranks in (1, 2):
                rows.append(prepare(tool, config, corpus, work / f"ds-{size}-{tokenizer}", tokenizer, ranks))
                print(table(rows[-1:], list(rows[-1])), flush=True)
    rounds = 3
    for _ in range(rounds):
        for size in sizes:
            for ranks in (1, 2):
                rows.append(train(tool, config, work / f"ds-{size}-char", work / "run", ranks, steps=60))
                rows[-1]["what"] = f"train from the prepared {size}"
                print(table(rows[-1:], list(rows[-1])), flush=True)
        for ranks in (1, 2):
            rows.append(bench(tool, config, ranks, steps=40))
            print(table(rows[-1:], list(rows[-1])), flush=True)
    columns = ["what", "size", "ranks", "seconds", "mb_per_s", "mb_per_s_per_rank", "start_s", "peak_rss_mb", "minimum_mb", "tokens_per_s"]
    with open(work / "bench-data.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    print(table(rows, columns))


if __name__ == "__main__":
    main()
