"""The ``tourguide`` command line: the only place (with the app builder) that wires things up."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tourguide")
def main() -> None:
    """tourguide: an AI tour-guide chat bot whose agents talk over RocketMQ 5."""
