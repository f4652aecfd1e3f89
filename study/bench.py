"""`python -m study.bench`: the benchmarks of `python -m bench`, by the name the issues use
(`--quick`, `--only NAME ...`, `--json FILE`)."""

import sys

from bench import main

if __name__ == "__main__":
    sys.exit(main())
