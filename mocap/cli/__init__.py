"""The ``mocap`` command line (click). Each command is a thin wrapper over a library function.

Errors never end in a traceback: a usage error or a `MocapError` prints one ``error: ...`` message (with the
fix) and exits non-zero (2: bad input, 3: quality gate); an unexpected exception is written with its
traceback to the log file (``<output>/mocap.log``, or ``~/.cache/mocap/mocap.log``) and summarised in one line
(exit 1).
"""

from __future__ import annotations

import logging
import sys
import traceback

import click

from mocap.errors import MocapError

log = logging.getLogger(__name__)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="mocap", message="mocap %(version)s")
def cli():
    """Multi-camera markerless motion capture for animation."""


def _register() -> None:
    from mocap.cli.batch import COMMANDS as BATCH_COMMANDS
    from mocap.cli.stages import COMMANDS
    from mocap.cli.tools import GROUPS

    for command in (*COMMANDS, *BATCH_COMMANDS, *GROUPS):
        cli.add_command(command)


_register()


def _internal_error(exc: BaseException) -> int:
    from mocap.cli.display import current_log_file, default_log_file

    path = current_log_file() or default_log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
        where = f"the details are in {path}"
    except OSError:
        where = "run again with --verbose for details"
    message = str(exc).splitlines()[0] if str(exc) else ""
    print(f"error: internal error ({type(exc).__name__}{': ' + message if message else ''}); {where}. "
          "Please report it with that file.", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> None:
    """The ``mocap`` console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    if not args:
        click.echo(cli.get_help(click.Context(cli, info_name="mocap")))
        sys.exit(0)
    try:
        rc = cli.main(args=args, prog_name="mocap", standalone_mode=False)
    except click.exceptions.Exit as exc:
        rc = exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else cli.get_help(click.Context(cli, info_name="mocap")))
        rc = 0
    except click.ClickException as exc:
        command = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else "mocap"
        message = " ".join(exc.format_message().split())
        print(f"error: {message} (see `{command} --help`)", file=sys.stderr)
        rc = exc.exit_code
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        rc = 130
    except MocapError as exc:
        log.debug("%s", exc, exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        rc = exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        rc = 130
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # noqa: BLE001 - never a traceback on the terminal
        rc = _internal_error(exc)
    sys.exit(rc if isinstance(rc, int) else 0)
