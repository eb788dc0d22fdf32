"""Expert runs in any format -> one schema (Trajectory, Step, Action) -> SRL step examples."""

from .actions import (
    Action,
    ActionError,
    Bash,
    Create,
    Insert,
    StrReplace,
    Submit,
    ToolCall,
    UndoEdit,
    View,
    from_openai,
    parse_xml,
    render_xml,
    to_openai,
)
from .answer import FormatError, parse_answer, render_answer
from .schema import Step, Trajectory, TrajectoryError

__all__ = [
    "Action", "ActionError", "Bash", "Create", "FormatError", "Insert", "Step", "StrReplace", "Submit",
    "ToolCall", "Trajectory", "TrajectoryError", "UndoEdit", "View", "from_openai", "parse_answer",
    "parse_xml", "render_answer", "render_xml", "to_openai",
]
