"""HTML pages: the page frame and its style, and one page per agent trajectory (steps, stages, patch)."""

from __future__ import annotations

import html
from typing import Any

from swesrl.trajectories import Trajectory, render_xml

_CSS = """body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1,h2{font-weight:600}table{border-collapse:collapse;width:100%;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}th{background:#f4f4f4}
.resolved{color:#157f3b;font-weight:600}.unresolved,.patch_failed,.empty_patch{color:#b3261e}.error{color:#8a5a00}
figure{display:inline-block;margin:0.5em}img{max-width:520px}pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap}
.step{border-left:3px solid #3b7dd8;padding-left:10px;margin:1em 0}.thought{color:#555;font-style:italic}"""


def page(title: str, body: str) -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"


def _stages_html(meta: dict[str, Any]) -> list[str]:
    """A pipeline run's stages (prompt and answers each), its localization score and its reranking."""
    parts = []
    loc = meta.get("localization")
    if loc:
        score = f" — gold files {', '.join(loc['gold_files'])}: {'hit' if loc['hit'] else 'MISS'}" if "hit" in loc else ""
        parts.append(f"<p><b>localized</b>: {html.escape(', '.join(loc['files']) or 'nothing')}{html.escape(score)}</p>")
    for stage in meta.get("stages") or []:
        prompt = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in stage.get("messages") or [])
        parts.append(f"<div class='step'><b>stage: {html.escape(stage['stage'])}</b><details><summary>prompt</summary>"
                     f"<pre>{html.escape(prompt[:50000])}</pre></details>")
        for i, answer in enumerate(stage.get("answers") or []):
            parts.append(f"<p>answer {i}</p><pre>{html.escape(answer)}</pre>")
        parts.append("</div>")
    if meta.get("rerank"):
        parts.append(f"<p><b>rerank</b>: {html.escape(str(meta['rerank'].get('note', '')))}</p>")
    return parts


def trajectory_page(traj: Trajectory) -> str:
    parts = [f"<h1>{html.escape(str(traj.instance_id or traj.id))}</h1>",
             f"<h2>Issue</h2><pre>{html.escape(traj.problem_statement)}</pre>"]
    meta = traj.metadata
    if meta.get("exit_status"):
        parts.insert(1, f"<p><b>{html.escape(str(meta['exit_status']))}</b> after {len(traj.steps)} steps"
                        f"{html.escape(': ' + str(meta['exit_message'])) if meta.get('exit_message') else ''}</p>")
    parts += _stages_html(meta)
    for i, step in enumerate(traj.steps):
        name = step.action.kind if step.action else "format error"
        shown = render_xml(step.action) if step.action else f"(no action: {step.action_error})"
        raw = (step.raw or {}).get("answer") if isinstance(step.raw, dict) else None
        answer = (f"<details open><summary>the model's answer, as written</summary><pre>{html.escape(str(raw))}</pre></details>"
                  if step.action is None and raw else "")
        parts.append(
            f"<div class='step'><b>step {i}: {html.escape(name)}</b>"
            f"<p class='thought'>{html.escape(step.thought)}</p>"
            f"<pre>{html.escape(shown)}</pre>{answer}<details><summary>observation</summary>"
            f"<pre>{html.escape(step.observation[:20000])}</pre></details></div>"
        )
    if traj.final_patch:
        parts.append(f"<h2>Patch</h2><pre>{html.escape(traj.final_patch)}</pre>")
    return page(f"trajectory {traj.instance_id}", "".join(parts))
