"""The results folder's safety: what may be replaced, one run at a time, no stale leftovers.

A run writes its results into a temporary folder beside ``out`` and renames it into place
at the end (``publish``), so a folder named ``out`` is always complete. Around that:

- ``check_out`` refuses an ``out`` whose replacement would lose anything that is not an
  earlier loansim result: a folder counts as one only if it holds a loansim
  ``manifest.json`` and nothing but files loansim writes.
- ``OutLock`` is held from before the run starts until the results are in place: a second
  run into the same folder is refused at once instead of silently replacing the first's
  results. A lock left by a run that was killed is taken over, as its process is gone.
- While it holds the lock, a run removes the temporary folders that a killed run left
  beside ``out`` (``remove_stale``): no live run can own them.
- ``publish`` checks ``out`` once more just before the rename: files put there during the
  run are never deleted; the results go to a new folder beside it instead.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import socket
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from loansim.errors import UserError
from loansim.scenario.messages import clip

RESULT_FILES = frozenset({
    "manifest.json", "summary.json", "monthly.csv", "monthly_mean.csv", "roll_rates.csv", "delinquency.png",
    "default_and_loss.png", "missed_by_cause.png", "loss_distribution.png", "report.html", "monthly.parquet", "vintages.csv", "vintages.png",
    "comparison.csv", "comparison.json", "comparison.html", "comparison_monthly.png", "comparison_differences.png",
    "stress.csv", "stress.json", "stress.html", "stress_unemployment.png", "stress_losses.png",
})
"""Every file any version of loansim writes into a results folder."""

TMP, OLD = "tmp-", "old-"  # temporary folders: .<out>.tmp-<random> (being written), .<out>.old-<random> (being replaced)


def foreign_entries(folder: Path) -> list[str]:
    """What in `folder` is not part of a loansim result (sorted); empty if it is one (or empty)."""
    names = sorted(entry.name for entry in folder.iterdir())
    if not names:
        return []
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = None
    ours = isinstance(manifest, dict) and isinstance(manifest.get("loansim_version"), str)
    return [n for n in names if not (ours and n in RESULT_FILES and (folder / n).is_file() and not (folder / n).is_symlink())]


def check_path(out: Path) -> None:
    """Refuse an --out path the system could never open: a name in it too long for a file
    or folder (the folder's own name leaves room for the temporary folder beside it), or a
    loop of symbolic links."""
    try:
        name_max = os.pathconf(".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    for part in out.parts:
        room = name_max - (len(f".{TMP}.") + 8 if part == out.name else 0)  # .<name>.tmp- and 8 random characters
        if len(os.fsencode(part)) > room:
            raise UserError(f"--out {clip(str(out))}: the name {clip(part, 40)} is {len(os.fsencode(part)):,} bytes long; "
                            f"{'a results folder' if part == out.name else 'a folder'} name may have at most {room} bytes")
    try:
        out.resolve()
    except RuntimeError:  # Python before 3.13 reports a loop of symbolic links so
        raise UserError(f"--out {out}: a loop of symbolic links that never reaches a folder") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UserError(f"--out {out}: a loop of symbolic links that never reaches a folder") from None
        raise UserError(f"--out {out}: cannot use the folder: {exc.strerror or exc}") from None


def check_out(out: Path, *scenario_files: Path | str | None) -> None:
    """Refuse a results folder that could not be written, whose replacement would lose
    anything that is not an earlier loansim result, or that holds one of `scenario_files`."""
    check_path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if out.is_dir():
        foreign = foreign_entries(out)
        if foreign:
            raise UserError(f"--out {out}: the folder holds {_few(foreign)}, which is not part of a loansim result, "
                            "and writing results would replace it; choose a new or empty folder")
    for scenario_file in (Path(f) for f in scenario_files if f is not None):
        if scenario_file.resolve().is_relative_to(out.resolve()):
            raise UserError(f"--out {out}: the folder holds the scenario file {scenario_file}; choose another folder")
    for parent in out.resolve().parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"--out {out}: {parent} is not a folder")
            break


def _few(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown if len(names) <= 3 else f"{shown} and {len(names) - 3} more"


class OutLock:
    """A lock file beside `out` (``.<name>.lock``) naming the run that writes `out`.

    Taken with ``O_EXCL``, so of two runs into one folder only one proceeds; the other gets
    a user error naming the process that holds it. A lock whose process is gone (a killed
    run) is stale and is taken over.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out.parent / f".{out.name}.lock"
        self._held = False

    def __enter__(self) -> OutLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> OutLock:
        """Take the lock (or raise ``UserError`` naming the run that holds it), then remove
        what killed runs left beside `out`."""
        self.out.parent.mkdir(parents=True, exist_ok=True)
        stamp = f"{os.getpid()}\n{socket.gethostname()}\n{datetime.now(timezone.utc).isoformat(timespec='seconds')}\n"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._refuse_or_clear()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(stamp)
            self._held = True
            remove_stale(self.out)
            return self
        raise UserError(f"--out {self.out}: another loansim run took the folder's lock ({self.path}) first; "
                        "wait for it to finish or choose another folder")

    def release(self) -> None:
        """Give the lock up (once; later calls do nothing)."""
        if self._held:
            self._held = False
            self.path.unlink(missing_ok=True)

    def _refuse_or_clear(self) -> None:
        try:
            pid_text, host, started = (self.path.read_text(encoding="utf-8").splitlines() + ["", "", ""])[:3]
        except OSError:
            return  # removed meanwhile: try again
        pid = int(pid_text) if pid_text.isdigit() else 0
        if host == socket.gethostname() and pid > 0 and not _alive(pid):
            self.path.unlink(missing_ok=True)  # left by a run that was killed
            return
        who = f"process {pid} on {host}" if host != socket.gethostname() else f"process {pid}"
        raise UserError(f"--out {self.out}: another loansim run ({who}, started {started or 'at an unknown time'}) "
                        f"is writing this folder; wait for it to finish or choose another folder "
                        f"(if no such run is going, delete {self.path})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale(out: Path) -> None:
    """Remove the temporary folders a killed run left beside `out` (call with its lock held):
    ours by name, and those of earlier versions (``.<name>.`` or ``.<name>.old.`` and eight
    characters) only if they hold nothing but result files."""
    legacy = re.compile(rf"\.{re.escape(out.name)}\.(old\.)?[a-z0-9_]{{8}}")
    for entry in out.parent.iterdir():
        name = entry.name
        if not entry.is_dir() or entry.is_symlink() or not name.startswith(f".{out.name}."):
            continue
        rest = name[len(out.name) + 2:]
        if rest.startswith((TMP, OLD)) or (legacy.fullmatch(name) and _only_results(entry, out.name)):
            shutil.rmtree(entry, ignore_errors=True)


def _only_results(folder: Path, name: str) -> bool:
    inner = folder / name  # a replaced folder was moved into .<name>.old.<random>/<name>
    if inner.is_dir() and [p.name for p in folder.iterdir()] == [name]:
        folder = inner
    return all(p.name in RESULT_FILES and p.is_file() for p in folder.iterdir())


def temporary(out: Path) -> Path:
    """A new, empty temporary folder beside `out` to write results into."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.{TMP}", dir=out.parent))
    tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private; results are ordinary files
    return tmp


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish(tmp: Path, out: Path) -> Path:
    """Rename the complete results in `tmp` to `out`, replacing an earlier result there.

    `out` is checked again first: if files that are not a loansim result appeared in it
    during the run, they are left alone, the results go to the first free ``<out>-<k>``
    beside it, and a user error says so.
    """
    foreign = foreign_entries(out) if out.is_dir() else ["(a file)"] if out.exists() else []
    if foreign:
        k = 2
        while (alternative := out.with_name(f"{out.name}-{k}")).exists():
            k += 1
        os.rename(tmp, alternative)
        raise UserError(f"--out {out}: while the run was going, {_few(foreign)} appeared there, which is not part of "
                        f"a loansim result; it was left alone and the results were written to {alternative} instead")
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.{OLD}", dir=out.parent))
        os.replace(out, old / out.name)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out


def write_guarded(out: Path, scenario_files: list[Path | str | None], write: Callable[[Path], Path]) -> Path:
    """Check `out` (``check_out``), hold its lock while `write(out)` writes it, and return
    where the results went; an OS error on the folder is a ``UserError`` naming it."""
    try:
        check_out(out, *scenario_files)
        with OutLock(out):
            return write(out)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot write the results folder: {exc.strerror or exc}") from None


def write_atomically(out: Path, fill: Callable[[Path], None]) -> Path:
    """Have `fill(folder)` write a temporary folder beside `out`, then put it in place
    (``publish``); if anything fails or the run is stopped, the temporary folder goes."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary(out)
    try:
        fill(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return publish(tmp, out)
