"""The ``streamkit`` subcommands: one module each, found by :mod:`streamkit.local.cli`.

A module here defines ``add_parser(subparsers)``, which adds its subcommand and
sets ``func`` (called with the parsed arguments, returning the exit status).
Modules import their heavy dependencies inside ``func``, so ``--help`` stays fast.
"""
