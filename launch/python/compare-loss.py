"""rnntrain eval's JSON against a trusted tool's score of the same text, for the launch/*-check
scripts: the same number of tokens, and mean losses within a relative tolerance.
    python3 launch/python/compare-loss.py CHECK TOOL TOLERANCE OURS_JSON THEIRS_JSON
Prints the comparison; exits 1 with "CHECK: FAIL" when they differ."""
import json
import sys

check, tool, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
ours, theirs = json.loads(sys.argv[4]), json.loads(sys.argv[5])
difference = abs(ours["loss"] - theirs["loss"]) / theirs["loss"]
print(f"rnntrain eval {ours['loss']:.12f}, {tool} {theirs['loss']:.12f} nats/token over "
      f"{theirs['tokens']} tokens: relative difference {difference:.1e}")
if ours["tokens"] != theirs["tokens"] or difference > tolerance:
    sys.exit(f"{check}: FAIL")
