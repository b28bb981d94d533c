"""Several processes share one size-rotated log file: no line lost, duplicated or torn."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

WRITERS, LINES = 4, 1000
# Each writer configures logging as a worker does, then writes as fast as it can. (The stdlib
# RotatingFileHandler loses about an eighth of these lines, with nothing deleted by backupCount.)
WRITER = """
import logging, sys
from ielts_service.config import Settings
from ielts_service.logging_setup import configure_logging
from ielts_service.redaction import Redactor
configure_logging(Settings(APP_ENV="test", LOG_FILE=sys.argv[1], LOG_MAX_BYTES=4096,
                           LOG_BACKUP_COUNT=5000), "0.0.0", Redactor())
for n in range(int(sys.argv[3])):
    logging.getLogger("writer").warning("line", extra={"writer": sys.argv[2], "n": n})
"""


def test_concurrent_writers_lose_nothing_across_rotations(tmp_path: Path) -> None:
    log_file = tmp_path / "service.log"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(log_file), str(w), str(LINES)],
            stdout=subprocess.DEVNULL,
        )
        for w in range(WRITERS)
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0] * WRITERS
    files = list(tmp_path.glob("service.log*"))
    lines = [json.loads(line) for path in files for line in path.read_text().splitlines()]
    assert len(files) > 100
    assert Counter((line["writer"], line["n"]) for line in lines) == Counter(
        (str(w), n) for w in range(WRITERS) for n in range(LINES)
    )
