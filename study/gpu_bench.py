"""`python -m study.gpu_bench`: `python -m bench.gpu_fused` (the gpu_throughput row: fused and
graph-captured FESR trials against one trial per GPU), by the name the issues use."""

import sys

from bench.gpu_fused import main

if __name__ == "__main__":
    sys.exit(main())
