"""Module-level jobs for mocap.parallel tests (spawn workers import them by name)."""

import os
import sys
import time


def sleeper(seconds, progress=None):
    """Report the worker's pid, then sleep."""
    print(f"worker {os.getpid()}", file=sys.stderr, flush=True)
    if progress:
        progress(1, 2)
    time.sleep(seconds)
    return os.getpid()


def chatter(text, progress=None):
    """Write to the C-level stderr the way native libraries do."""
    os.write(2, text.encode() + b"\n")
    return os.getpid()
