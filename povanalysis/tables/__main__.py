"""``python -m povanalysis.tables``: the tables commands (``template OUT``, ``check FILE``)."""

from .commands import main

raise SystemExit(main())
