"""`python -m textdetector`: the module's command line."""

from .cli import console_main

console_main()
