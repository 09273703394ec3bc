"""``python -m openaudit``."""

from openaudit.cli import main

main()
