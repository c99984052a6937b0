"""Independence tests: speed against causal-learn's KCI and the full 10,000 x 20 screen.

``python benchmarks/bench_independence_speed.py`` (about 6 minutes on 2 cores;
``--quick``: n up to 1,000 and a 3,000-row screen). The parts live in
``bench_independence.py``; ``--only speed`` or ``--only screen`` runs one.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_independence import main  # noqa: E402

if __name__ == "__main__":
    main(default_parts=("speed", "screen"))
