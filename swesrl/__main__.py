"""`python -m swesrl` is the `swesrl` command."""

from swesrl.cli import main

main()
