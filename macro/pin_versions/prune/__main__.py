"""``python -m pin_versions.prune``: the prune command without the console script."""

from __future__ import annotations

import sys

from . import main

sys.exit(main())
