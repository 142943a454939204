"""``python -m codegen``: the same as the ``chgen`` command."""

from .cli import main

main()
