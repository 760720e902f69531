"""Backup and restore benchmark: 10,000 persons with password hashes, beside a file copy.

Loads the persons straight through idmd's Python API into a temporary database (far faster
than REST; each person carries a display name, a mail address and an Argon2id password hash
with its own random salt and digest, so the database compresses as a real one does), then
measures, each the median of ``--repeat`` runs and beside the same-run baseline of copying the
database file (``shutil.copyfile`` + ``fsync``):

- ``hermit-idmd backup`` as the server runs it (SQLite backup API snapshot, compression, the
  0600 file written and renamed), with gzip and with lzma;
- ``hermit-idmd restore`` (every check, decompression, ``QueryServer`` + ``verify``, rename).

Usage: ``make bench`` or ``.venv/bin/python contrib/bench/backup_bench.py [--persons N]
[--repeat N] [--out DIR]``. Results are printed and written as JSON.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hermit_common.clock import SystemClock
from idmd.backup.format import Compression
from idmd.backup.restore import restore_backup
from idmd.backup.snapshot import make_backup
from idmd.idm import Idm
from idmd.idm.credentials.passwords import hash_password_sync
from idmd.server.identity import INTERNAL

DOMAIN = "example.com"
BATCH = 500  # persons per write transaction while loading


def fake_phc(template: str) -> str:
    """An Argon2id PHC string at today's cost with a random salt and digest: the same length
    and entropy as a real hash, without 10,000 runs of Argon2id."""
    prefix = template.rsplit("$", 2)[0]

    def b64(n: int) -> str:
        return base64.b64encode(os.urandom(n)).decode().rstrip("=")

    return f"{prefix}${b64(16)}${b64(32)}"


def load(db: Path, persons: int) -> None:
    template = hash_password_sync("only-for-its-parameters")
    idm = Idm.open(str(db), domain=DOMAIN, origin=f"https://idm.{DOMAIN}", clock=SystemClock())
    try:
        for start in range(0, persons, BATCH):
            with idm.server.write() as txn:
                for i in range(start, min(start + BATCH, persons)):
                    txn.create(INTERNAL, {
                        "class": ["person"], "name": [f"user{i:05d}"],
                        "displayname": [f"User {i}"], "mail": [f"user{i:05d}@{DOMAIN}"],
                        "password": [fake_phc(template)],
                    })
    finally:
        idm.close()


def timed(work: Callable[[], object], before: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``work`` over ``repeat`` runs, ``before`` run untimed first."""
    samples = []
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def copy_with_fsync(source: Path, dest: Path) -> None:
    shutil.copyfile(source, dest)
    with dest.open("rb+") as handle:
        os.fsync(handle.fileno())


def measure(db: Path, work: Path, compression: Compression, repeat: int) -> dict[str, float]:
    """Backup and restore times and the backup's size with ``compression``."""
    dest = work / f"backup-{compression}.hbk"
    target = work / f"restored-{compression}" / "hermit.db"
    target.parent.mkdir()
    backup_s = timed(
        lambda: make_backup(db, dest, domain=DOMAIN, compression=compression, now=time.time()),
        lambda: dest.unlink(missing_ok=True),
        repeat,
    )
    restore_s = timed(
        lambda: restore_backup(dest, target, domain=DOMAIN, clock=SystemClock()),
        lambda: None,
        repeat,
    )
    return {
        f"backup_{compression}_s": backup_s,
        f"backup_{compression}_bytes": dest.stat().st_size,
        f"restore_{compression}_s": restore_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("contrib/bench/results"))
    args = parser.parse_args()

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="hermit-backup-bench-") as tmp:
        work = Path(tmp)
        db = work / "hermit.db"
        print(f"loading {args.persons} persons ...", flush=True)
        started = time.perf_counter()
        load(db, args.persons)
        results["load_s"] = time.perf_counter() - started
        results["database_bytes"] = db.stat().st_size
        copy = work / "copy.db"
        results["copy_s"] = timed(
            lambda: copy_with_fsync(db, copy), lambda: copy.unlink(missing_ok=True), args.repeat
        )
        for compression in ("gzip", "lzma"):
            results.update(measure(db, work, compression, args.repeat))

    copy_s = results["copy_s"]
    print(f"\nbackup and restore, {args.persons:,} persons with password hashes "
          f"(database {results['database_bytes'] / 2**20:.1f} MiB, loaded in "
          f"{results['load_s']:.0f} s); median of {args.repeat}")
    print(f"{'measurement':30} {'hermit':>10}   {'same-run baseline':26} {'ratio':>7}")
    baseline = f"copyfile+fsync {copy_s * 1000:.0f} ms"
    for compression in ("gzip", "lzma"):
        for step in ("backup", "restore"):
            seconds = results[f"{step}_{compression}_s"]
            label = f"{step} ({compression})"
            print(f"{label:30} {seconds * 1000:>7.0f} ms   {baseline:26} {seconds / copy_s:7.1f}")
    for compression in ("gzip", "lzma"):
        size = results[f"backup_{compression}_bytes"]
        label = f"backup file ({compression})"
        print(f"{label:30} {size / 2**20:>6.2f} MiB   "
              f"{'database ' + format(results['database_bytes'] / 2**20, '.2f') + ' MiB':26} "
              f"{size / results['database_bytes']:7.2f}")
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (args.out / f"backup-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
