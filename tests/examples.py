"""How many examples a property test draws: ``examples(n)``.

``n`` is the test's full count; ``FLOWSQL_TEST_EXAMPLES`` scales it (a multiplier, default 1,
at least 1 example). ``make test`` (the gate CI runs) uses 0.4 so the suite stays well under
15 minutes on two cores; ``make test-deep`` uses 2. Hypothesis draws new random inputs on
every run, so the gate still covers new ground each time; the full and deep counts are for
a change to an operator's state or merge logic.
"""

from __future__ import annotations

import math
import os

SCALE = float(os.environ.get("FLOWSQL_TEST_EXAMPLES") or 1.0)


def examples(n: int) -> int:
    return max(1, math.ceil(n * SCALE))
