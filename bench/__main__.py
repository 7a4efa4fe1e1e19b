"""``python -m bench``: the export benchmark (see :mod:`bench.export`)."""

from bench.export import main

raise SystemExit(main())
