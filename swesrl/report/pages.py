"""One page per trajectory (an evaluation's instance or a standalone agent run): the outcome on top,
the issue, a pipeline run's stages, every step with a malformed answer shown as written, the patch."""

from __future__ import annotations

from typing import Any

from swesrl.trajectories import Trajectory, render_xml

from .render import render


def _usage(meta: dict[str, Any]) -> str:
    u = meta.get("usage") or {}
    if not u:
        return ""
    cost = f", ${u['cost']:.4f}" if isinstance(u.get("cost"), (int, float)) else ""
    return f"{u.get('prompt_tokens', 0)} prompt + {u.get('completion_tokens', 0)} completion tokens{cost}"


def _localization(meta: dict[str, Any]) -> str:
    loc = meta.get("localization")
    if not loc:
        return ""
    score = f" — gold files {', '.join(loc['gold_files'])}: {'hit' if loc['hit'] else 'MISS'}" if "hit" in loc else ""
    return (", ".join(loc["files"]) or "nothing") + score


def trajectory_page(traj: Trajectory, source: str = "") -> str:
    meta = traj.metadata
    outcome = {"status": str(meta["exit_status"]), "message": str(meta.get("exit_message") or ""), "usage": _usage(meta)} \
        if meta.get("exit_status") else None
    stages = [{"name": s["stage"], "answers": s.get("answers") or [],
               "prompt": "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in s.get("messages") or [])[:50000]}
              for s in meta.get("stages") or []]
    steps = []
    for step in traj.steps:
        raw = step.raw.get("answer") if isinstance(step.raw, dict) else None
        steps.append({"name": step.action.kind if step.action else "format error", "thought": step.thought,
                      "shown": render_xml(step.action) if step.action else f"(no action: {step.action_error})",
                      "raw": str(raw) if step.action is None and raw else "", "observation": step.observation[:20000]})
    return render("trajectory.html", title=f"trajectory {traj.instance_id or traj.id}", name=str(traj.instance_id or traj.id),
                  source=source, outcome=outcome, issue=traj.problem_statement, localization=_localization(meta), stages=stages,
                  rerank=str((meta.get("rerank") or {}).get("note", "")), steps=steps, patch=traj.final_patch or "")
