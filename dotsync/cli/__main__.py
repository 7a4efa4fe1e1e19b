"""Allow ``python -m dotsync.cli`` (e.g. ``python -X importtime -m dotsync.cli --help``)."""

from dotsync.cli import main

main()
