"""Allow ``python -m dotsync``."""

from dotsync.cli import main

main()
