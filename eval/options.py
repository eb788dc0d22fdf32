"""How an evaluation runs (time budgets, image sources, test seed, tampering policy), and the
provenance key a stored result is reused under."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from swesrl.sandbox.docker_sandbox import Limits

from .environment import image_identity
from .predictions import patch_hash
from .results import Provenance
from .tasks import Task

# A verbose test run must reach the grader whole: the summary lines sit at the end, the markers at both ends.
EVAL_LIMITS = Limits(output_bytes=32_000_000)


@dataclass(frozen=True)
class Timeouts:
    """Seconds. `instance` covers everything from container start to graded log, image build excluded."""

    start: float = 120.0
    command: float = 300.0
    instance: float = 1800.0


NETWORKS = ("none", "bridge")


@dataclass(frozen=True)
class EvalOptions:
    repos_dir: str | None = None
    image_template: str | None = None
    base_image: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    seed: int = 0  # PYTHONHASHSEED for the tests: set iteration order is part of what a result depends on
    limits: Limits | None = None
    workdir: str = "/testbed"
    # A patch that changes test infrastructure (eval/tampering.py) is graded unresolved; False grades it
    # as SWE-bench does (the findings are reported either way).
    reject_tampering: bool = True
    # The evaluation container's Docker network: "none" (default) or "bridge", for rows whose tests need
    # the internet (requests' tests call httpbin.org). Opt-in: the tests then run a patch with network.
    network: str = "none"

    def __post_init__(self) -> None:
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {', '.join(NETWORKS)}, got {self.network!r}")


def provenance(task: Task, patch: str | None, options: EvalOptions) -> Provenance:
    """What a result depends on; computing it builds nothing."""
    try:
        image = image_identity(task, options.repos_dir, options.base_image, options.image_template)
    except Exception as e:  # no spec: the evaluation will report the same problem as an error
        image = f"unavailable: {e}"
    return Provenance(task.spec_hash(), image, patch_hash(patch), asdict(options.timeouts), options.seed,
                      "strict" if options.reject_tampering else "swebench", network=options.network)
