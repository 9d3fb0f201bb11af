"""KenLM's score of a text under an ARPA model, as JSON: the mean natural-log loss per token
and the token count, with rnntrain's tokens written as its words.txt names them.
  kenlm-score.py MODEL_DIR TEXT
word models: each line a sentence (KenLM's <s> context, </s> predicted and counted); char and
byte models: the text as one stream from <s>, nothing predicted after its last token. Each token's
log10 probability is KenLM's (full_scores); they are summed here in double, since Model.score sums
in float (off by 2.5e-5 relative over 13,000 tokens)."""
import json, math, sys

import kenlm

directory, text_path = sys.argv[1], sys.argv[2]
config = open(f"{directory}/config.yaml", encoding="utf-8").read()
kind = next(line.split(":")[1].strip() for line in config.splitlines() if line.strip().startswith("tokenizer:"))
model = kenlm.Model(f"{directory}/model.arpa")
data = open(text_path, "rb").read()


def escaped(c):
    o = ord(c)
    return f"<U+{o:04X}>" if o < 0x21 or o == 0x7F or c.isspace() else c


if kind == "word":
    lines = data.decode("utf-8").split("\n")
    if lines[-1] == "":
        lines.pop()
    log10 = sum(score for line in lines for score, _, _ in model.full_scores(" ".join(line.split()), bos=True, eos=True))
    tokens = sum(len(line.split()) + 1 for line in lines)
else:
    words = [f"<0x{b:02X}>" for b in data] if kind == "byte" else [escaped(c) for c in data.decode("utf-8")]
    log10 = sum(score for score, _, _ in model.full_scores(" ".join(words), bos=True, eos=False))
    tokens = len(words)
print(json.dumps({"loss": -log10 * math.log(10) / tokens, "tokens": tokens}))
