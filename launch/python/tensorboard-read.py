"""Reads a run's TensorBoard event files with TensorBoard's own reader and checks them against
the run's metrics.jsonl: every number of every record, at its step, in step order, no step
missing or twice. Run by launch/stages/tensorboard with .venv-check's python.

    tensorboard-read.py METRICS_JSONL TB_DIR

metrics.jsonl is the truth, read the way a restart makes it: a resumed session trains again the
steps after its checkpoint and logs them again, so a record whose step is not after the one
before it starts a new session and replaces every earlier record from its step on. (With
log.every 1, as the test runs, every step is logged, so that step is the session's first: the
one whose SessionLog START tells TensorBoard to drop what earlier files hold from there on.)

TensorBoard keeps each value as a float32: a JSON number is compared with its float32 rounding,
exactly; a JSON null (a loss of NaN) with NaN.
"""
import json
import math
import sys
import time

import numpy as np
from tensorboard.backend.event_processing import event_accumulator


def expected_records(path):
    records = []
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if records and record["step"] <= records[-1]["step"]:
                records = [r for r in records if r["step"] < record["step"]]
            records.append(record)
    return records


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def main():
    metrics_path, tb_dir = sys.argv[1], sys.argv[2]
    records = expected_records(metrics_path)
    keys = sorted({k for r in records for k in r if k != "step"})
    # size_guidance 0: keep every scalar (by default TensorBoard samples 10,000 per tag).
    accumulator = event_accumulator.EventAccumulator(tb_dir, size_guidance={event_accumulator.SCALARS: 0})
    accumulator.Reload()
    tags = accumulator.Tags()["scalars"]
    # A tag is "group/key": the key of metrics.jsonl after the last "/".
    by_key = {}
    for tag in tags:
        key = tag.rsplit("/", 1)[-1]
        if key in by_key:
            sys.exit(f"tensorboard-read: FAIL: tags {by_key[key]} and {tag} both name {key}")
        by_key[key] = tag
    if sorted(by_key) != keys:
        sys.exit(f"tensorboard-read: FAIL: metrics.jsonl has {keys}, TensorBoard has tags {sorted(tags)}")
    failures = 0
    now = time.time()
    for key in keys:
        want = [(r["step"], math.nan if r[key] is None else float(np.float32(r[key]))) for r in records if key in r]
        events = accumulator.Scalars(by_key[key])
        got = [(e.step, e.value) for e in events]
        steps = [s for s, _ in got]
        if len(set(steps)) != len(steps) or steps != sorted(steps):
            print(f"{by_key[key]}: steps out of order or repeated: {steps}")
            failures += 1
        elif len(got) != len(want) or not all(s == t and same(v, w) for (s, v), (t, w) in zip(got, want)):
            wrong = [(g, w) for g, w in zip(got, want) if not (g[0] == w[0] and same(g[1], w[1]))]
            print(f"{by_key[key]}: {len(got)} values, metrics.jsonl {len(want)}; first differences (TensorBoard, metrics.jsonl): {wrong[:3]}")
            failures += 1
        elif not all(0 < a.wall_time <= b.wall_time <= now for a, b in zip(events, events[1:] + events[-1:])):
            print(f"{by_key[key]}: wall times not increasing up to now: {[e.wall_time for e in events]}")
            failures += 1
    if failures:
        sys.exit(f"tensorboard-read: FAIL: {failures} of {len(keys)} tags differ from metrics.jsonl")
    print(f"tensorboard-read: {len(keys)} tags ({', '.join(sorted(tags))}) equal metrics.jsonl at its "
          f"{len(records)} steps {records[0]['step']}..{records[-1]['step']}: passed")


main()
