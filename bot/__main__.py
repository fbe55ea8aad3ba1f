"""``python -m bot`` runs the tourguide CLI."""

from bot.cli import main

main()
