"""Local packages checked before anything is sent: where a path may point, what a file must be,
and a folder zipped with a digest of its content.

``package`` is often chosen by whoever triggers the DAG (a param), so it is untrusted: it must
resolve (symlinks first) inside ``package_root`` when the DAG author set one, and it must be a
regular file or a folder. ``/proc``, ``/sys`` and ``/dev`` entries are refused always: a
``/proc`` file looks regular but reports 0 bytes and holds the process's environment.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import zipfile
from typing import Any

from airflow_provider_appservice.errors import TaskArgumentError

log = logging.getLogger(__name__)

#: Types Kudu unpacks as zip archives: the file must be one.
ZIP_FORMAT_TYPES = frozenset({"zip", "war", "jar", "ear"})
PSEUDO_ROOTS = ("/proc", "/sys", "/dev")
_READ = 1024 * 1024


def _refuse(problem: str, fix: str, argument: str = "package") -> TaskArgumentError:
    return TaskArgumentError(argument, problem, fix)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def resolve_local(package: str, package_root: str | None) -> tuple[str, os.stat_result]:
    """The real path of a local package and its stat, or TaskArgumentError naming what is wrong."""
    real = os.path.realpath(os.path.abspath(os.path.expanduser(package)))
    if package_root is not None:
        root = os.path.realpath(os.path.abspath(os.path.expanduser(str(package_root))))
        if not os.path.isdir(root):
            raise _refuse(
                f"{str(package_root)!r} is not a folder", "give the folder packages are built in", "package_root"
            )
        if not _inside(real, root):
            raise _refuse(
                f"{package!r} resolves to {real!r}, outside package_root {root!r}",
                "give a package under package_root (symlinks are resolved first)",
            )
    if any(_inside(real, pseudo) for pseudo in PSEUDO_ROOTS):
        raise _refuse(f"{package!r} resolves to {real!r}, a system file, not a package", "give a built package")
    try:
        st = os.stat(real)
    except OSError as exc:
        raise _refuse(
            f"{package!r} cannot be read ({exc.strerror})", "give an existing file, a folder or an https:// URL"
        ) from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise _refuse(
            f"{package!r} is not a regular file or a folder (a device, FIFO or socket)", "give a built package"
        )
    return real, st


def check_file(path: str, shown: str, kind: str, size: int) -> None:
    """An empty file is never a package; a zip-format type needs a zip (Kudu would fail late)."""
    if size == 0:
        raise _refuse(f"{shown!r} is empty (0 bytes)", "build the package first")
    if kind in ZIP_FORMAT_TYPES and not zipfile.is_zipfile(path):
        raise _refuse(
            f"{shown!r} is not a zip archive, but type '{kind}' needs one",
            "give a zip (war/jar/ear are zips too), or type='static' to deploy one file as is",
        )


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_READ):
            digest.update(chunk)
    return digest.hexdigest()


def _members(folder: str) -> list[tuple[str, str]]:
    """``(full path, name in the zip)`` of every file, sorted; refuses what must not be zipped.

    Symlinks are followed when they resolve inside the folder (the zip stores the target's
    content under the link's name; a link to a folder inside is skipped, its files are zipped
    where they really are), and refused when they leave it: a package must not carry files from
    elsewhere on the worker. Devices, FIFOs and sockets are refused (a FIFO would block)."""
    root = os.path.realpath(folder)
    members: list[tuple[str, str]] = []
    for current, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(current, name)
            rel = os.path.relpath(full, root)
            if os.path.islink(full) and not _inside(os.path.realpath(full), root):
                raise _refuse(
                    f"the folder's symlink {rel!r} points outside it, to {os.path.realpath(full)!r}",
                    "copy the file into the folder, or remove the link",
                )
            if name in dirs:
                continue
            try:
                mode = os.stat(full).st_mode
            except OSError:
                mode = 0  # a dangling link
            if not stat.S_ISREG(mode):
                raise _refuse(f"the folder's entry {rel!r} is not a regular file", "remove it from the folder")
            members.append((full, rel))
    return members


def zip_folder(folder: str, dest: str, logger: logging.Logger | Any = log) -> tuple[int, str]:
    """Zip ``folder`` into ``dest`` one file at a time; ``(zip size, content digest)``.

    The digest is sha256 over each file's name and sha256, so the same content gives the same
    digest whatever the files' times (the zip's own bytes carry them): a rebuilt but identical
    folder counts as already deployed. An empty folder is refused: with Kudu's default clean
    deployment it would empty the app."""
    members = _members(folder)
    if not members:
        raise _refuse(f"the folder {folder!r} holds no files", "build the package into it first")
    tree = hashlib.sha256()
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for full, rel in members:
            info = zipfile.ZipInfo.from_file(full, rel, strict_timestamps=False)  # before 1980: clamped
            info.compress_type = zipfile.ZIP_DEFLATED
            digest = hashlib.sha256()
            with open(full, "rb") as src, zf.open(info, "w") as dst:
                while chunk := src.read(_READ):
                    digest.update(chunk)
                    dst.write(chunk)
            tree.update(f"{rel}\0{digest.hexdigest()}\n".encode())
    size = os.path.getsize(dest)
    logger.info("Zipped %d file(s) of %s into a %.1f MB package", len(members), folder, size / 1e6)
    return size, tree.hexdigest()
