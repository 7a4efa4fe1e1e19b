"""dotsync: keep marketing lists in sync with Dotmailer (Dotdigital) address books."""

import sys

__version__ = "0.1.0"

# `import httpx` also imports httpx's own command-line client (httpx._main) when click and rich are installed,
# and with it rich and pygments: about 45 ms of every cron process's start-up, for a tool dotsync never runs.
# A None entry makes that one import fail, and httpx falls back to its stub `main`. Set before anything of
# dotsync imports httpx; it changes nothing if httpx was imported already.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
