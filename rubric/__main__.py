"""`python -m rubric …`: see rubric.cli."""

from rubric.cli import main

raise SystemExit(main())
