"""Module-level jobs for mocap.parallel tests (spawn workers import them by name)."""

import os
import time


def sleeper(seconds, pid_file=None, progress=None):
    """Note the worker's pid in ``pid_file`` (workers' own output goes to the log, not the terminal), sleep."""
    if pid_file:
        with open(pid_file, "a") as fh:
            fh.write(f"{os.getpid()}\n")
    if progress:
        progress(1, 2)
    time.sleep(seconds)
    return os.getpid()


def chatter(text, progress=None):
    """Write to the C-level stderr the way native libraries do."""
    os.write(2, text.encode() + b"\n")
    return os.getpid()
