"""`python -m patron.cli` runs the `patron` command."""

from patron.cli.main import app

app()
