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
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from swesrl.eval.environment import TaskEnvironmentError, repo_source
from swesrl.eval.evaluate import EvalOptions, evaluate_patch, validation_ok
from swesrl.eval.tasks import load_tasks


def image_facts(tag: str | None) -> dict:
    """Disk the instance and its environment layers add, the environment's Python and deviations."""
    if not tag:
        return {}
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


def validate(task, options: EvalOptions, run_id: str, logs: Path | None) -> dict:
    t = time.monotonic()
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
    return {
        "instance_id": task.instance_id, "repo": task.repo, "version": task.version, "outcome": result,
        "phase": phase, "why": why[:2000], "gold": gold.status, "unpatched": empty.status,
        "build_s": gold.timings.get("image_build"), "test_s": gold.timings.get("patch_and_tests"),
        "wall_s": round(time.monotonic() - t, 1), **image_facts(gold.image),
    }  # fmt: skip


def interleave(tasks: list) -> list:
    """Round-robin over repositories, so a run cut short still covers many of them. Within one
    repository the most common version comes first (its environment image is shared), then the
    instances with the fewest tests."""
    by_repo: dict[str, list] = defaultdict(list)
    for t in tasks:
        by_repo[t.repo].append(t)
    for ts in by_repo.values():
        versions = Counter(t.version for t in ts)
        ts.sort(key=lambda t: (-versions[t.version], len(t.FAIL_TO_PASS) + len(t.PASS_TO_PASS)))
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
    ap.add_argument("--interleave", action="store_true", help="round-robin over repositories, cheapest first")
    ap.add_argument("--limit", type=int, help="at most this many new tasks")
    args = ap.parse_args()
    errors: list = []
    tasks = [t for source in args.tasks for t in load_tasks(source, errors=errors)]
    if args.interleave:
        tasks = interleave(tasks)
    for e in errors:
        print(f"skipped: {e}", file=sys.stderr)
    done = {}
    if args.results.exists():
        done = {d["instance_id"]: d for d in map(json.loads, args.results.read_text().splitlines())}
    todo = [t for t in tasks if t.instance_id not in done and (not args.repo or t.repo in args.repo)][: args.limit]
    options = EvalOptions(repos_dir=args.repos_dir)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    for i, task in enumerate(todo, 1):
        row = validate(task, options, run_id="validate-swebench", logs=args.logs)
        with args.results.open("a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"[{i}/{len(todo)}] {task.instance_id}: {row['outcome']} {row['phase']} {row['why'][:200]}", flush=True)
        done[task.instance_id] = row
    if args.markdown:
        args.markdown.write_text(markdown(list(done.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
