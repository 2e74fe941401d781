"""``python -m chromatic_charm``: the same command as ``chromatic-charm`` (and what torchrun starts:
``torchrun --nproc_per_node 2 -m chromatic_charm train ...``)."""

import sys

from .cli import main

sys.exit(main())
