"""Seconds from a training command's start to its `training …` line and to its first step's
line (`step 1/…`; run it with `--set log.every=1`), read from its standard output as it comes;
the command is killed then. Usage: python3 launch/python/first-step.py rnntrain train ... --set log.every=1"""
import subprocess
import sys
import time

start = time.monotonic()
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
banner = first = None
for line in process.stdout:
    now = time.monotonic() - start
    if banner is None and line.startswith("training "):
        banner = now
    if line.startswith("step 1/"):
        first = now
        break
process.kill()
process.wait()
if first is None:
    sys.exit(f"first-step.py: no step line from {' '.join(sys.argv[1:])}")
print(f"training line {banner:.3f} s, first step {first:.3f} s")
