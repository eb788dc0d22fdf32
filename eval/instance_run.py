"""One Docker exec per instance: the model patch, the eval script and a nonce go in through stdin, and
the run ends with a line the tested code cannot forge.

Why: the tested code runs in the container and can print anything, swebench's markers and its
"exit code" line included, so the log alone cannot be trusted. The runner shell reads a fresh random
nonce from stdin before any of that code exists, keeps it only in its own memory (not in a file, an
argument or the environment), and after the eval script ends prints `SWESRL-<nonce> done <status>`
with the script's exit status, which the script sets to the test command's. The host reads the log only
up to that line and takes the tests' exit status from it alone. What remains possible is reading the
runner's memory from a test process (ptrace-level access; denied where Yama or AppArmor restrict it).
One exec instead of four (write patch, apply, write script, run) also saves their round trips.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

# stdin: nonce line, patch length line, patch bytes, then the eval script to EOF.
RUNNER = r"""IFS= read -r nonce; IFS= read -r n
head -c "$n" > /tmp/swesrl.patch
cat > /tmp/swesrl_eval.sh
exec </dev/null
if [ "$n" -gt 0 ]; then
  if git apply --verbose --whitespace=nowarn /tmp/swesrl.patch; then m="git apply"
  elif patch --batch --forward --fuzz=5 -p1 --dry-run -i /tmp/swesrl.patch >/dev/null &&
       patch --batch --forward --fuzz=5 -p1 -i /tmp/swesrl.patch; then m=patch
  else printf '\nSWESRL-%s patch_failed\n' "$nonce"; exit 0
  fi
  printf '\nSWESRL-%s applied %s\n' "$nonce" "$m"
fi
bash /tmp/swesrl_eval.sh
printf '\nSWESRL-%s done %s\n' "$nonce" "$?"
"""
# Appended to the eval script: its exit status becomes the test command's (swebench records it in this variable).
_EXIT_WITH_TESTS = '\nexit "${SWEBENCH_TEST_EXIT_CODE:-254}"\n'
NO_TEST_STATUS = 254


@dataclass(frozen=True)
class RunOutcome:
    patch_failed: bool
    applied_by: str | None  # "git apply" or "patch"; None when there was no patch (or it failed)
    apply_output: str  # what the apply tools printed
    log: str  # the eval script's output, up to the runner's final line
    finished: bool  # the runner saw the eval script end
    test_status: int | None  # the test command's exit status, when the script recorded one


def runner_input(patch: str | None, script: str) -> tuple[str, bytes]:
    """(nonce, stdin bytes) for one run."""
    nonce = secrets.token_hex(16)
    data = (patch or "").encode("utf-8", "surrogateescape")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return nonce, f"{nonce}\n{len(data)}\n".encode() + data + (script + _EXIT_WITH_TESTS).encode()


def parse_run(output: str, nonce: str) -> RunOutcome:
    tag = f"SWESRL-{nonce} "
    lines = output.split("\n")
    marks = [(i, ln[len(tag):].strip()) for i, ln in enumerate(lines) if ln.startswith(tag)]
    applied_at, applied_by = -1, None
    for i, what in marks:
        if what == "patch_failed":
            return RunOutcome(True, None, "\n".join(lines[:i]), "", False, None)
        if what.startswith("applied ") and applied_by is None:
            applied_at, applied_by = i, what.removeprefix("applied ")
        if what.startswith("done ") and re.fullmatch(r"done -?\d+", what):
            status = int(what.split()[1])
            return RunOutcome(False, applied_by, "\n".join(lines[: max(applied_at, 0)]),
                              "\n".join(lines[applied_at + 1 : i]) + "\n", True, None if status == NO_TEST_STATUS else status)
    return RunOutcome(False, applied_by, "\n".join(lines[: max(applied_at, 0)]), "\n".join(lines[applied_at + 1 :]), False, None)
