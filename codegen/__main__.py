"""``python -m chgen``: the same as the ``chgen`` command."""

from .cli import main

main()
