"""The ``facepoints`` command line."""
