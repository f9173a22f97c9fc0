"""`python -m demo`: play the blue-green story with and without PinVersions."""

import sys

from demo.story import main

sys.exit(main())
