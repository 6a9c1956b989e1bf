"""``mocap batch``: every take of every session under some folders, on this machine or a Ray cluster,
with a live view of the batch and a summary (``batch.toml``, ``batch_index.html``) at the end."""

from __future__ import annotations

from pathlib import Path

import click

from mocap.batch.backend import BACKENDS
from mocap.cli.display import console, setup_logging
from mocap.cli.options import run_overrides
from mocap.cli.stages import CONFIG, VERBOSE, _run_help
from mocap.pipeline import STAGES

#: Up to this many takes, the summary table lists every take; above it, only the failed ones.
TABLE_ROWS = 40


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def live_view():
    """``(live, update)``: a rich display of the batch (a bar of finished takes, the counts, the ETA and
    the running tasks); ``update(status)`` redraws it."""
    from rich.console import Group
    from rich.live import Live
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.text import Text

    bar = Progress(TextColumn("takes"), BarColumn(bar_width=32), MofNCompleteColumn(),
                   TextColumn("{task.fields[clock]}"), console=console(True))
    task = bar.add_task("", total=None, clock="")
    lines = Text()
    live = Live(Group(bar, lines), console=console(True), refresh_per_second=4, transient=False)

    def update(status) -> None:
        bar.update(task, completed=status.done + status.reused + status.failed, total=status.takes,
                   clock=f"{_clock(status.elapsed_s)} elapsed · ETA {_clock(status.eta_s)}")
        active = list(status.active[:8]) + ([f"... and {len(status.active) - 8} more"] if len(status.active) > 8
                                            else [])
        lines.plain = "\n".join([f"  {status.done} done · {status.reused} reused · {status.running} running · "
                                 f"{status.failed} failed"] + [f"  {a}" for a in active])

    return live, update


def print_summary(result) -> None:
    from rich.table import Table

    con = console()
    takes = result.takes
    shown = takes if len(takes) <= TABLE_ROWS else result.failed
    if shown:
        table = Table(title="mocap batch" if shown is takes else "failed takes")
        for col in ("session", "take", "status", "seconds", "verdict / error"):
            table.add_column(col)
        for t in shown:
            note = f"{t.failed_stage}: {t.error.splitlines()[0]}" if t.error else t.verdict_detail
            table.add_row(Path(t.session).name, t.take or "-", t.status, f"{sum(t.seconds.values()):.1f}", note)
        con.print(table)
    counts = {s: sum(t.status == s for t in takes) for s in ("done", "reused", "failed")}
    con.print(f"{len(takes)} takes: {counts['done']} done, {counts['reused']} reused, {counts['failed']} failed "
              f"in {result.seconds:.0f} s", soft_wrap=True)
    con.print(f"  summary {result.layout.summary}\n  index   {result.layout.index}", soft_wrap=True)


@click.command(epilog=_run_help())
@click.argument("roots", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--backend", type=click.Choice(BACKENDS), default="local", show_default=True,
              help="local: worker processes on this machine; ray: tasks on a Ray cluster (pip install 'mocap[ray]').")
@click.option("--address", help="Ray only: auto (the cluster started on this machine with `ray start`) or HOST:PORT "
                                "of the head node; default: a Ray instance started for this batch.")
@click.option("--workers", type=int, default=0, show_default=True,
              help="Worker processes (local) or CPUs of the Ray instance started here; 0 = one per core.")
@CONFIG
@click.option("--set", "assignments", multiple=True, metavar="TABLE.SETTING=VALUE",
              help="Override one setting for every session, e.g. --set fit.iterations=30.")
@click.option("--until", type=click.Choice(STAGES), help="Last stage to run [default: report].")
@click.option("--accept", is_flag=True, help="Go on even if a calibration fails its quality gate.")
@click.option("--output", "-o", type=click.Path(path_type=Path),
              help="Folder for batch.toml, batch_index.html and batch.log (default: the current folder). Each "
                   "session writes its own outputs into its output_dir, as with `mocap run`.")
@VERBOSE
def batch(roots, backend, address, workers, config_file, assignments, until, accept, output, verbose):
    """Run every take of every session under ROOTS (folders searched for session.toml, or session.toml
    files): calibration once per session, then each take's stages, detection split per camera, reusing what
    is already done. A take or session that fails is recorded and the others go on (exit code 2 at the end)."""
    from mocap.batch import Batch, open_backend
    from mocap.batch.scheduler import check_output
    from mocap.batch.tasks import code_fingerprint
    from mocap.layout import BatchLayout

    setup_logging(verbose)
    out = check_output(output or Path.cwd())
    plan = Batch.plan(roots, config_file=config_file, overrides=run_overrides(assignments, until), accept=accept)
    code = code_fingerprint()
    executor = open_backend(backend, address=address, workers=workers, log_file=BatchLayout(out).log,
                            check_paths=plan.shared_paths, code=code)
    try:
        setup_logging(verbose, BatchLayout(out).log)
        live, update = live_view()
        with live:
            result = plan.run(executor, output=out, progress=update, code=code)
        if not live.console.is_terminal:
            live.console.print()  # the last frame ends without a new line there
    finally:
        executor.close()
    print_summary(result)
    if result.failed:
        raise SystemExit(2)


COMMANDS = (batch,)
