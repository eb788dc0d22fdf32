"""SWE-bench tasks, patch evaluation in fresh containers, grading, and reports."""
