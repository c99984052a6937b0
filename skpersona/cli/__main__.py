"""``python -m skpersona.cli``: the same as the ``skpersona`` command."""

import sys

from . import main

sys.exit(main())
