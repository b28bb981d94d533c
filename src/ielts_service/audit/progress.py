"""Progress of long audit commands on stderr: records done / total, rate, ETA (tqdm)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from .store import Progress


@contextmanager
def progress_bar(label: str, *, quiet: bool) -> Iterator[Progress | None]:
    """A progress callback drawing on stderr when it is a terminal; None when `quiet` or not."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    # A terminal that reports no size (0 x 0, as fresh ptys do) would hide the bar.
    size = shutil.get_terminal_size()
    with tqdm(
        desc=label,
        unit=" records",
        unit_scale=True,
        file=sys.stderr,
        ncols=size.columns,
        nrows=size.lines,
    ) as bar:

        def update(done: int, total: int) -> None:
            bar.total = max(total, done)
            bar.update(done - bar.n)

        yield update
