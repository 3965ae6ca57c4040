"""The ``sim`` command line: one module per command group (``main``: run, compare, validate;
``experiments``: sweep, results, replications; ``identity``; ``insights``)."""

from sim.cli.main import main

__all__ = ["main"]
