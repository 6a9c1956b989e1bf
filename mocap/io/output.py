"""Keeping other libraries' console output (MediaPipe, TensorFlow Lite, absl, Blender's exporters) off the
user's terminal: it goes to the log file named by ``$MOCAP_LOG_FILE`` (the CLI sets it to
``<output>/mocap.log``), or, without one, to this module's logger at DEBUG level."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

LOG_ENV = "MOCAP_LOG_FILE"

log = logging.getLogger(__name__)


@contextlib.contextmanager
def native_output_to_log() -> Iterator[None]:
    """Route file descriptors 1 and 2 (where C/C++ libraries and Python's ``print`` write) to
    ``$MOCAP_LOG_FILE`` while inside, or to a temporary file logged at DEBUG when no log file is set."""
    path = os.environ.get(LOG_ENV)
    spool = None
    try:
        if path:
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        else:
            spool = tempfile.TemporaryFile()
            target = os.dup(spool.fileno())
    except OSError:
        yield
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        os.dup2(target, 1)
        os.dup2(target, 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, target):
            os.close(fd)
        if spool is not None:
            spool.seek(0)
            text = spool.read().decode("utf-8", "replace").strip()
            spool.close()
            if text:
                log.debug("library output:\n%s", text)
