"""Package a training run as a shipped model: a thin wrapper of ``facepoints package`` (kept for old
commands; ``python tools/package_model.py ARGS`` = ``facepoints package ARGS``).

  facepoints package runs/atpn_lite0_68_long_ft --name atpn_lite0_68 --summary "..." \
      [--metrics eval.json] [--speed speed.json] [--branch-metrics branches.json] [--half]
"""
from __future__ import annotations

import sys

from facepoints.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["package", *sys.argv[1:]]))
