"""Validate real SWE-bench rows as published (no hand-written environments) and write the table.

For each task: build its image from the derived environment, run the gold patch (must resolve) and
no patch (must not). One JSON line per task goes to --results as soon as it is known, so an
interrupted run resumes where it stopped; the Markdown table (every id with its outcome, the phase
that failed and why, plus a per-repository summary) is rewritten from all lines at the end.

    nice -n 10 python scripts/validate-swebench.py TASKS [TASKS...] --repos-dir repos/ --interleave \\
        --results docs/swebench-validation.jsonl --markdown docs/swebench-validation-table.md
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from swesrl.eval.environment import TaskEnvironmentError, repo_source
from swesrl.eval.evaluate import EvalOptions, evaluate_patch, validation_ok
from swesrl.eval.tasks import load_tasks


def image_facts(tag: str | None) -> dict:
    """Disk the instance and its environment layers add, the environment's Python and deviations
    (none when Docker cannot say: another process may remove images meanwhile)."""
    if not tag:
        return {}
    try:
        return _image_facts(tag)
    except Exception as e:  # docker's errors: the row is still worth writing
        print(f"no image facts for {tag}: {e}", file=sys.stderr)
        return {}


def _image_facts(tag: str) -> dict:
    from swesrl.sandbox.images import docker_client, list_images

    own = {i.tag: i.own_bytes for i in list_images()}
    client = docker_client()
    img = client.images.get(tag)
    env_tag = img.labels.get("swesrl.parent", "")
    env = client.images.get(env_tag) if env_tag else None
    return {
        "instance_mb": round((own.get(tag) or 0) / 1e6, 1),
        "env_image": env_tag,
        "env_mb": round((own.get(env_tag) or 0) / 1e6, 1),
        "python": env.labels.get("swesrl.python") if env else None,
        "deviations": json.loads(env.labels.get("swesrl.deviations", "[]")) if env else [],
    }


def outcome(gold, empty) -> tuple[str, str, str]:
    """(outcome, failed phase, why) of one validation."""
    if validation_ok(gold, empty):
        return "valid", "", ""
    if gold.reason.startswith(("image build failed", "no image")):
        return "invalid", "build", gold.reason
    if gold.status != "resolved":
        return "invalid", "gold", f"{gold.status}: {gold.reason}"
    return "invalid", "unpatched", f"{empty.status}: {empty.reason or 'the tests pass without the fix'}"


def instance_tags() -> set[str]:
    from swesrl.sandbox.images import list_images

    return {i.tag for i in list_images() if i.kind == "instance"}


def remove_new_instance_image(tag: str | None, before: set[str]) -> None:
    """Drop the instance image this task built (not one that existed before it: another run's, or
    shared); environment and base images stay for the next rows of the same repository version."""
    if tag and tag.startswith("swesrl/instance:") and tag not in before:
        import docker.errors

        from swesrl.sandbox.images import docker_client

        try:
            docker_client().images.remove(tag)
        except docker.errors.APIError as e:
            print(f"kept {tag}: {e}", file=sys.stderr)


def validate(task, options: EvalOptions, run_id: str, logs: Path | None, prune: bool = False) -> dict:
    t = time.monotonic()
    before = instance_tags() if prune else set()
    try:
        repo_source(task, options.repos_dir)
    except TaskEnvironmentError as e:
        return {"instance_id": task.instance_id, "repo": task.repo, "version": task.version, "outcome": "no source",
                "phase": "", "why": str(e)}  # fmt: skip
    gold = evaluate_patch(task, task.patch, run_id=run_id, options=options, model_name_or_path="gold")
    empty = evaluate_patch(task, "", run_id=run_id, options=options, model_name_or_path="empty", run_empty=True)
    result, phase, why = outcome(gold, empty)
    if logs:
        logs.mkdir(parents=True, exist_ok=True)
        for name, r in (("gold", gold), ("unpatched", empty)):
            (logs / f"{task.instance_id}.{name}.log").write_text(r.test_output)
            (logs / f"{task.instance_id}.{name}.json").write_text(json.dumps(r.to_dict(), indent=1))
    row = {
        "instance_id": task.instance_id, "repo": task.repo, "version": task.version, "outcome": result,
        "phase": phase, "why": why[:2000], "gold": gold.status, "unpatched": empty.status,
        "build_s": gold.timings.get("image_build"), "test_s": gold.timings.get("patch_and_tests"),
        "wall_s": round(time.monotonic() - t, 1), **image_facts(gold.image),
    }  # fmt: skip
    if prune:
        remove_new_instance_image(gold.image, before)
    return row


def read_results(path: Path) -> dict[str, dict]:
    """The rows written so far; a torn last line (a process killed while writing it) is not a row."""
    done: dict[str, dict] = {}
    if path.exists():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                print(f"{path}, line {n}: not a complete row, ignored (its instance is validated again)", file=sys.stderr)
                continue
            done[row["instance_id"]] = row
    return done


def append_line(path: Path, line: str) -> None:
    """One write per row: a row is on disk whole or not at all (short of a torn disk write)."""
    with path.open("ab+") as f:
        if f.seek(0, 2) and (f.seek(-1, 2), f.read(1))[1] != b"\n":
            f.write(b"\n")  # after a torn line, start a fresh one
        f.write((line + "\n").encode())


def test_bytes(task, repos_dir: str) -> int | None:
    """Bytes of the test files the task's test patch touches, at its base commit in the mirror: how
    long its tests take, roughly (sympy's run from seconds to a quarter of an hour)."""
    mirror = Path(repos_dir) / (task.repo.replace("/", "__") + ".git")
    if not mirror.is_dir():
        return None
    paths = re.findall(r"^diff --git a/(\S+)", task.test_patch or "", re.M)
    out = subprocess.run(["git", "-C", str(mirror), "cat-file", "--batch-check=%(objectsize)"],
                         input="".join(f"{task.base_commit}:{p}\n" for p in paths), capture_output=True, text=True)  # fmt: skip
    return sum(int(w) for w in out.stdout.split() if w.isdigit())


def interleave(tasks: list, cost=None) -> list:
    """Round-robin over repositories, so a run cut short still covers many of them. Within one
    repository the cheapest instances come first: by `cost(task)` where it is known (test_bytes),
    else the most common version first (its environment image is shared), then the fewest tests."""
    by_repo: dict[str, list] = defaultdict(list)
    for t in tasks:
        by_repo[t.repo].append(t)
    for ts in by_repo.values():
        versions = Counter(t.version for t in ts)
        costs = {t.instance_id: (cost(t) if cost else None) for t in ts}
        ts.sort(key=lambda t: (costs[t.instance_id] is None, costs[t.instance_id] or 0,
                               -versions[t.version], len(t.FAIL_TO_PASS) + len(t.PASS_TO_PASS)))  # fmt: skip
    order = sorted(by_repo, key=lambda r: (len(by_repo[r]), r))
    return [by_repo[r][i] for i in range(max(map(len, by_repo.values()), default=0)) for r in order if i < len(by_repo[r])]


def markdown(rows: list[dict]) -> str:
    sourceless = sorted(r["instance_id"] for r in rows if r["outcome"] == "no source")
    rows = [r for r in rows if r["outcome"] != "no source"]
    by_repo: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_repo[r["repo"]].append(r)
    valid = sum(r["outcome"] == "valid" for r in rows)
    out = [f"{valid}/{len(rows)} attempted instances valid across {len(by_repo)} repositories"
           + (f"; not attempted (no repository source): {', '.join(sourceless)}." if sourceless else "."), "",
           "| repository | attempted | valid | median build s | median test s | env MB | median instance MB |",
           "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip

    def med(values: list) -> str:
        values = [v for v in values if v is not None]
        return f"{statistics.median(values):.1f}" if values else "-"

    for repo, rs in sorted(by_repo.items()):
        envs = {r.get("env_image"): r.get("env_mb") or 0 for r in rs if r.get("env_image")}
        out.append(f"| {repo} | {len(rs)} | {sum(r['outcome'] == 'valid' for r in rs)} | {med([r['build_s'] for r in rs])} | "
                   f"{med([r['test_s'] for r in rs])} | {sum(envs.values()):.0f} | {med([r.get('instance_mb') for r in rs])} |")  # fmt: skip
    out += ["", "| instance | outcome | failed phase | why | Python | deviations |", "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["instance_id"]):
        why = r["why"].splitlines()[0][:160].replace("|", "\\|") if r["why"] else ""
        devs = "; ".join(r.get("deviations") or []).replace("|", "\\|")[:200]
        out.append(f"| {r['instance_id']} | {r['outcome']} | {r['phase']} | {why} | {r.get('python') or ''} | {devs} |")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tasks", nargs="+", help="task files (SWE-bench rows as published: JSON, JSONL, CSV, ...)")
    ap.add_argument("--repos-dir", required=True)
    ap.add_argument("--results", type=Path, required=True, help="JSONL, appended to; tasks already in it are skipped")
    ap.add_argument("--markdown", type=Path, help="write the table here")
    ap.add_argument("--logs", type=Path, help="keep each phase's test log and per-test outcomes here")
    ap.add_argument("--repo", action="append", help="only these repositories (owner/name)")
    ap.add_argument("--interleave", action="store_true",
                    help="round-robin over repositories, within each the smallest test files first")
    ap.add_argument("--limit", type=int, help="at most this many new tasks")
    ap.add_argument("--prune-instances", action="store_true",
                    help="remove each instance image this run built after validating it (disk stays bounded "
                         "by the environment images plus one instance)")
    args = ap.parse_args()
    errors: list = []
    tasks = [t for source in args.tasks for t in load_tasks(source, errors=errors)]
    if args.interleave:
        tasks = interleave(tasks, cost=lambda t: test_bytes(t, args.repos_dir))
    for e in errors:
        print(f"skipped: {e}", file=sys.stderr)
    done = read_results(args.results)
    todo = [t for t in tasks if t.instance_id not in done and (not args.repo or t.repo in args.repo)][: args.limit]
    options = EvalOptions(repos_dir=args.repos_dir)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    try:
        for i, task in enumerate(todo, 1):
            row = validate(task, options, run_id="validate-swebench", logs=args.logs, prune=args.prune_instances)
            append_line(args.results, json.dumps(row))
            print(f"[{i}/{len(todo)}] {task.instance_id}: {row['outcome']} {row['phase']} {row['why'][:200]}", flush=True)
            done[task.instance_id] = row
    except KeyboardInterrupt:  # Ctrl-C, and SIGTERM/SIGHUP (swesrl's sandbox makes them end the process the same way)
        print(f"interrupted: the instance under way has no row; {args.results} holds {len(done)}; run the same command "
              "again to resume", file=sys.stderr)
        return 130
    if args.markdown:
        args.markdown.write_text(markdown(list(done.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
