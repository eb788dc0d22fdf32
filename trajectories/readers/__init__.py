"""Trajectory readers, one per source format, chosen by sniffing the content."""
