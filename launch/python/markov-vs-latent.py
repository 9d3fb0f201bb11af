"""The report of launch/markov-vs-latent, from what its commands printed into OUT.

python3 launch/python/markov-vs-latent.py OUT   ->   OUT/markov-vs-latent.{csv,md}, budget.{csv,png},
                                              context.{csv,png}, sweep.csv

Every number comes from the tool's own output: `rnntrain ngram`'s JSON line (n-grams kept,
bytes, |V|^n, seconds), `rnntrain eval`'s JSON (validation bits, with full context or with the
state reset every k characters), `rnntrain inspect` (parameters, vocabulary), each run's
metrics.jsonl (validation loss against tokens and seconds) and state of its best checkpoint
(`best_step`), the sweep's CSVs and the samples. A missing file or a non-finite number is an
error: a report with a hole in it is not written.
"""
import csv
import json
import math
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ORDERS = range(1, 11)
CONTEXTS = (1, 2, 4, 8, 16)
LATENT = (("rnn", "RNN 2×256"), ("gru", "GRU 2×256"), ("lstm", "LSTM 2×256"), ("lstm-2x512", "LSTM 2×512"))
RESETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
COLUMNS = ("model", "context", "ngrams", "parameters", "bytes", "table_entries", "val_bits_per_char",
           "val_tokens", "train_seconds", "steps", "best_step", "setting")


def fail(message):
    print(f"markov_vs_latent: {message}", file=sys.stderr)
    sys.exit(1)


def load_text(path):
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"{path}: {error.strerror}")


def load_json(path):
    try:
        return json.loads(load_text(path))
    except json.JSONDecodeError as error:
        fail(f"{path}: {error}")


def metrics(directory):
    records = [json.loads(line) for line in load_text(directory / "metrics.jsonl").splitlines() if line.strip()]
    if not records:
        fail(f"{directory}/metrics.jsonl: empty")
    return records


def ngram_row(models, order):
    name = f"ngram-{order:02d}"
    built, scored = load_json(models / f"{name}.ngram.json"), load_json(models / f"{name}.eval.json")
    kept = [int(n) for n in built["ngrams"]]
    return {
        "model": f"{order}-gram", "context": order - 1, "ngrams": sum(kept),
        # A probability for every n-gram kept, a backoff weight for every one below the top order.
        "parameters": sum(kept) + sum(kept[:-1]), "bytes": int(built["stored_bytes"]),
        "table_entries": built["table_entries"], "val_bits_per_char": scored["bits_per_token"],
        "val_tokens": int(scored["tokens"]), "train_seconds": built["seconds"], "steps": "", "best_step": "",
        "setting": "",
    }


def neural_row(models, name, label, context):
    directory = models / name
    scored = load_json(models / f"{name}.eval.json")
    inspected = load_text(models / f"{name}.inspect.txt")
    parameters = re.search(r"^parameters (\d+)$", inspected, re.M)
    vocabulary = re.search(r" vocabulary (\d+) ", inspected)
    step = re.search(r"^step (\d+)", inspected, re.M)
    if not parameters or not vocabulary or not step:
        fail(f"{directory}.inspect.txt: no parameter count, vocabulary or step")
    last = metrics(directory)[-1]
    chosen = models / f"{name}.chosen"
    setting = load_text(chosen).replace("--set ", "").strip() if chosen.exists() else ""
    return {
        "model": label, "context": context, "ngrams": "", "parameters": int(parameters.group(1)),
        "bytes": 4 * int(parameters.group(1)),  # fp32 weights
        # The windowed MLP is a Markov model of order k + 1: its table would hold |V|^(k+1) entries.
        "table_entries": int(vocabulary.group(1)) ** (context + 1) if isinstance(context, int) else "",
        "val_bits_per_char": scored["bits_per_token"], "val_tokens": int(scored["tokens"]),
        "train_seconds": last["elapsed_s"], "steps": int(last["step"]), "best_step": int(step.group(1)),
        "setting": setting,
    }


def rows_of(out):
    models = out / "models"
    rows = [ngram_row(models, n) for n in ORDERS]
    rows += [neural_row(models, f"mlp-k{k:02d}", f"MLP k={k}", k) for k in CONTEXTS]
    rows += [neural_row(models, name, label, "all (state h)") for name, label in LATENT]
    for row in rows:
        for key in ("parameters", "bytes", "val_bits_per_char", "train_seconds"):
            if not math.isfinite(row[key]):
                fail(f"{row['model']}: {key} is {row[key]}")
    return rows


def budget_rows(out):
    """Validation bits of every latent model's and MLP's validations, against tokens and seconds."""
    rows = []
    names = [(f"mlp-k{k:02d}", f"MLP k={k}") for k in CONTEXTS] + list(LATENT)
    for name, label in names:
        for record in metrics(out / "models" / name):
            if record.get("val_loss") is None:
                continue
            bits = record["val_loss"] / math.log(2)
            if not math.isfinite(bits):
                fail(f"{name}: validation loss {record['val_loss']} at step {record['step']}")
            rows.append({"model": label, "step": record["step"], "tokens": record["tokens"],
                         "elapsed_s": record["elapsed_s"], "val_bits_per_char": bits})
    return rows


def context_rows(out, table):
    """Bits against the context each model may see: n-gram order − 1, MLP k, latent reset every k."""
    rows = [{"model": "n-gram", "context": r["context"], "val_bits_per_char": r["val_bits_per_char"]}
            for r in table[:len(ORDERS)]]
    rows += [{"model": "MLP", "context": r["context"], "val_bits_per_char": r["val_bits_per_char"]}
             for r in table[len(ORDERS):len(ORDERS) + len(CONTEXTS)]]
    for name, label in LATENT:
        for k in RESETS:
            scored = load_json(out / "models" / f"{name}.reset-{k:04d}.json")
            rows.append({"model": label, "context": k, "val_bits_per_char": scored["bits_per_token"]})
        full = load_json(out / "models" / f"{name}.eval.json")
        rows.append({"model": label, "context": "never", "val_bits_per_char": full["bits_per_token"]})
    return rows


def sweep_rows(out):
    rows = []
    for name, label in LATENT:
        with open(out / "sweep" / f"{name}.csv", encoding="utf-8") as f:
            rows += [dict(r, model=label) for r in csv.DictReader(f)]
    return rows


SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def power(x):
    """|V|^n as a reader takes it in: exact up to a million, then a mantissa and a power of ten."""
    if x == "":
        return "—"
    if x < 1e6:
        return f"{int(x):,}"
    exponent = int(math.floor(math.log10(x)))
    return f"{x / 10 ** exponent:.1f}·10{str(exponent).translate(SUPERSCRIPTS)}"


def passing(budget, label, line):
    """The first validation of `label` below `line` bits: (tokens, seconds), or None."""
    for r in budget:
        if r["model"] == label and r["val_bits_per_char"] < line:
            return r["tokens"], r["elapsed_s"]
    return None


def markdown(table, budget, sweep, settings):
    best_ngram = min(table[:len(ORDERS)], key=lambda r: r["val_bits_per_char"])
    lines = [f"Settings: {settings}", "",
             "| model | context it sees | setting (swept) | n-grams kept | parameters stored | bytes stored | \\|V\\|ⁿ "
             "| validation bits/char | steps run | best step | training s |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in table:
        kept = f"{r['ngrams']:,}" if r["ngrams"] != "" else "—"
        lines.append(f"| {r['model']} | {r['context']} | {r['setting'] or '—'} | {kept} | {r['parameters']:,} "
                     f"| {r['bytes']:,} | {power(r['table_entries'])} | {r['val_bits_per_char']:.3f} "
                     f"| {r['steps'] or '—'} | {r['best_step'] or '—'} | {r['train_seconds']:.1f} |")
    lines += ["", f"Best n-gram: {best_ngram['model']}, {best_ngram['val_bits_per_char']:.3f} bits/char.", "",
              "| latent model | best bits/char | below the best n-gram by | passes it after (tokens, seconds) |",
              "| --- | ---: | ---: | --- |"]
    for _, label in LATENT:
        row = next(r for r in table if r["model"] == label)
        when = passing(budget, label, best_ngram["val_bits_per_char"])
        shown = f"{when[0]:,} tokens, {when[1]:.0f} s" if when else "does not pass it"
        lines.append(f"| {label} | {row['val_bits_per_char']:.3f} "
                     f"| {best_ngram['val_bits_per_char'] - row['val_bits_per_char']:+.3f} | {shown} |")
    lines += ["", "Sweep (validation bits/char after the sweep's steps):", "",
              "| model | lr | dropout | bits/char |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r['model']} | {r['lr']} | {r['dropout']} | {float(r['val_bits_per_char']):.3f} |" for r in sweep]
    return "\n".join(lines) + "\n"


def plot_budget(budget, table, path):
    best_ngram = min(table[:len(ORDERS)], key=lambda r: r["val_bits_per_char"])
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, key, label in ((axes[0], "tokens", "training characters seen"), (axes[1], "elapsed_s", "wall seconds (2 ranks, bf16)")):
        for _, model in LATENT:
            points = [r for r in budget if r["model"] == model]
            ax.plot([r[key] for r in points], [r["val_bits_per_char"] for r in points], "-", label=model)
        for k in (4, 16):
            points = [r for r in budget if r["model"] == f"MLP k={k}"]
            ax.plot([r[key] for r in points], [r["val_bits_per_char"] for r in points], ":", label=f"MLP k={k}")
        ax.axhline(best_ngram["val_bits_per_char"], color="black", linestyle="--",
                   label=f"best n-gram ({best_ngram['model']}, {best_ngram['val_bits_per_char']:.3f})")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("validation bits per character")
        low = min(r["val_bits_per_char"] for r in budget)
        ax.set_ylim(low - 0.05, best_ngram["val_bits_per_char"] + 0.6)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    fig.suptitle("validation bits per character against budget, each model until early stopping")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_context(context, path):
    fig, ax = plt.subplots(figsize=(8, 5))
    numeric = [r for r in context if r["context"] != "never"]
    for model, style in [("n-gram", "o-"), ("MLP", "s-")] + [(label, "^-") for _, label in LATENT]:
        points = [r for r in numeric if r["model"] == model and r["context"] >= 1]
        line, = ax.plot([r["context"] for r in points], [r["val_bits_per_char"] for r in points], style,
                        label=model if model in ("n-gram", "MLP") else f"{model}, state reset every k")
        never = [r for r in context if r["model"] == model and r["context"] == "never"]
        if never:
            ax.axhline(never[0]["val_bits_per_char"], color=line.get_color(), linestyle=":", linewidth=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("characters of context the model may see (n-gram: order − 1; dotted: never reset)")
    ax.set_ylabel("validation bits per character")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def samples(out):
    # The prime is the rest of the file, newlines and all, less the one printf ended it with.
    ngram, latent, prime = load_text(out / "samples.txt").split("\n", 2)
    prime = prime[:-1] if prime.endswith("\n") else prime
    text = [f"Primed with {json.dumps(prime)}, 300 characters at temperature 0.8, seed 7.", ""]
    for name in (ngram, latent):
        text += [f"{name}:", "", "```", load_text(out / "models" / f"{name}.sample.txt").rstrip("\n"), "```", ""]
    return "\n".join(text)


def write_csv(path, rows, columns):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def main():
    if len(sys.argv) != 2:
        print("usage: markov-vs-latent.py OUT", file=sys.stderr)
        sys.exit(2)
    out = Path(sys.argv[1])
    table = rows_of(out)
    budget, context, sweep = budget_rows(out), context_rows(out, table), sweep_rows(out)
    settings = " ".join(load_text(out / "settings.txt").split())
    write_csv(out / "markov-vs-latent.csv", table, COLUMNS)
    write_csv(out / "budget.csv", budget, ("model", "step", "tokens", "elapsed_s", "val_bits_per_char"))
    write_csv(out / "context.csv", context, ("model", "context", "val_bits_per_char"))
    write_csv(out / "sweep.csv", sweep, ("model", "lr", "dropout", "val_bits_per_char"))
    report = markdown(table, budget, sweep, settings) + "\n" + samples(out)
    (out / "markov-vs-latent.md").write_text(report, encoding="utf-8")
    plot_budget(budget, table, out / "budget.png")
    plot_context(context, out / "context.png")
    print(report, end="")
    print(f"wrote {out}/markov-vs-latent.csv, .md, budget.csv, .png, context.csv, .png, sweep.csv")


if __name__ == "__main__":
    main()
