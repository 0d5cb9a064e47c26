"""``python -m facepoints`` = the ``facepoints`` command."""
import sys

from .cli.main import main

sys.exit(main())
