"""The ``tiering`` command line (typer). Each sub-module registers its own commands."""
