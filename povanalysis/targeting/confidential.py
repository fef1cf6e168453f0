"""Where a confidential household list may be written, and writing it readable by its owner only.

The rules of :func:`povanalysis.targeting.risk.confidential_export`, for every file that names
households (its CSV list, the officials' follow-up workbooks of :mod:`povanalysis.targeting.followup`):
never into a folder that holds published reports, never over a file with other names, written
whole or not at all with mode ``0o600`` from its first byte.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from .. import config

__all__ = ["PUBLISHED_MARKS", "REPORT_STAMP", "published_folder", "check_confidential_target", "write_owner_only"]

#: Files that mark a folder of published reports: a report set's index and its stamp
#: (:func:`povanalysis.reports.index.build_index`).
PUBLISHED_MARKS: tuple[str, ...] = ("index.html", "index.stamp.json")
#: The stamp every published report is written with (``<report>.stamp.json``, :mod:`povanalysis.reports.batch`).
REPORT_STAMP = "*.stamp.json"


def published_folder(path: str | os.PathLike) -> tuple[Path, str] | None:
    """The first folder holding ``path`` that holds published reports, and why; None when there is none.

    The path is checked as given (made absolute) and with every symbolic link resolved, so that
    neither a link to a published folder nor a link inside one leads a list there.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> published_folder(folder / "lists" / "MAT-CONFIDENTIAL.xlsx") is None
    True
    >>> _ = (folder / "a.stamp.json").write_text("{}")
    >>> published_folder(folder / "lists" / "MAT-CONFIDENTIAL.xlsx")[1]
    'holds report stamps (*.stamp.json)'
    """
    configured = Path(os.path.realpath(config.reports_dir()))
    given = Path(os.path.abspath(path))
    resolved = Path(os.path.realpath(path))
    for target in dict.fromkeys((given, resolved)):
        for folder in target.parents:
            real = Path(os.path.realpath(folder))
            if real == configured or configured in real.parents:
                return configured, "is the published reports folder (povanalysis.config.reports_dir)"
            try:
                if all((folder / name).is_file() for name in PUBLISHED_MARKS):
                    return folder, "holds a report set's index.html and index.stamp.json"
                if next(folder.glob(REPORT_STAMP), None) is not None:
                    return folder, f"holds report stamps ({REPORT_STAMP})"
            except OSError:  # a folder that cannot be read holds nothing this process published
                continue
    return None


def check_confidential_target(path: str | os.PathLike) -> Path:
    """The resolved file a confidential list may be written to; raises naming the path and the reason when none.

    Raises
    ------
    ValueError
        The path is in a published folder (:func:`published_folder`), or the file has other
        names (hard links), one of which may be in such a folder.
    """
    path = Path(path)
    found = published_folder(path)
    if found is not None:
        folder, why = found
        raise ValueError(
            f"'path' {str(path)!r} is in {str(folder)!r}, which {why}: household lists must never be written there"
        )
    target = Path(os.path.realpath(path))
    try:
        links = os.stat(target).st_nlink
    except FileNotFoundError:
        links = 1
    if links > 1:
        raise ValueError(
            f"'path' {str(path)!r} has {links} names (hard links): another of them may be in a published folder, "
            "and household lists must never be written there; remove the file or choose another name"
        )
    return target


def write_owner_only(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` whole or not at all, readable by its owner only from its first byte.

    The data go to a temporary file created with mode ``0o600`` (``O_EXCL``, no link followed),
    which then takes the target's name; a new folder is created with mode ``0o700``.

    Examples
    --------
    >>> import tempfile
    >>> out = write_owner_only(Path(tempfile.mkdtemp()) / "MAT-CONFIDENTIAL.bin", b"x")
    >>> oct(out.stat().st_mode & 0o777), out.read_bytes()
    ('0o600', b'x')
    """
    target = Path(target)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)  # the umask may only have removed bits: say it outright
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
