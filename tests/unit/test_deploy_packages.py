"""Package checks, the folder's content digest, stored records read back untrusted, the evidence
an intent is resolved with, and the orphan guard (a real parent dying under a real child)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from airflow_provider_appservice.errors import TaskArgumentError
from airflow_provider_appservice.operations.deploy_resume import (
    KNOWN_CAP,
    ambiguity_error,
    read_record,
    since_intent,
    snapshot,
)
from airflow_provider_appservice.operations.orphan_guard import ParentGone, orphan_guard, parent_death_signal
from airflow_provider_appservice.operations.package_files import zip_folder
from airflow_provider_appservice.operations.packages import StreamingReader, prepare_package

REPO = Path(__file__).resolve().parents[2]


def spec_of(package: str, type_: str | None = None, root: str | None = None):
    with prepare_package(package, type_, None, package_root=root) as spec:
        return spec


def test_a_folders_digest_follows_its_content_not_its_times(tmp_path):
    folder = tmp_path / "site"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    first = zip_folder(str(folder), str(tmp_path / "1.zip"))[1]
    os.utime(folder / "a.txt", (10**9, 10**9))
    os.utime(folder / "sub" / "b.txt", (1, 1))  # before 1980: clamped in the zip, not refused
    assert zip_folder(str(folder), str(tmp_path / "2.zip"))[1] == first
    (folder / "sub" / "b.txt").write_text("B")
    assert zip_folder(str(folder), str(tmp_path / "3.zip"))[1] != first
    (folder / "sub" / "b.txt").write_text("b")
    (folder / "sub" / "b.txt").rename(folder / "b.txt")
    assert zip_folder(str(folder), str(tmp_path / "4.zip"))[1] != first, "a moved file is other content"
    with zipfile.ZipFile(tmp_path / "4.zip") as zf:
        assert sorted(zf.namelist()) == ["a.txt", "b.txt"]


def test_content_of_a_file_a_folder_and_a_url(tmp_path):
    package = tmp_path / "p.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("BUILD", "x")
    import hashlib

    assert spec_of(str(package)).content == hashlib.sha256(package.read_bytes()).hexdigest()
    url = "https://acct.blob.core.windows.net/c/p.zip?sv=1&sig=SECRET"
    other_sig = url.replace("SECRET", "OTHER")
    assert spec_of(url).content == spec_of(other_sig).content, "the SAS signature is not content"
    assert spec_of(url).content != spec_of(url.replace("p.zip", "q.zip")).content


@pytest.mark.parametrize(
    ("package", "type_", "fragment"),
    [
        ("{tmp}/sub", None, "holds no files"),
        ("/proc/self/environ", "static", "system file"),
        ("/proc/self/status", None, "system file"),
        ("/dev/zero", "static", "system file"),
        ("/sys/kernel", None, "system file"),
        ("", None, "is empty"),
        ("{tmp}/sub", "jar", "needs a single file"),
    ],
)
def test_refusals_name_the_argument(tmp_path, package, type_, fragment):
    (tmp_path / "sub" / "empty").mkdir(parents=True)
    argument = "type" if fragment == "needs a single file" else "package"
    with pytest.raises(TaskArgumentError, match=rf"Argument '{argument}'.*{fragment}"):
        spec_of(package.format(tmp=tmp_path), type_)


def test_a_link_to_a_special_file_inside_a_folder_is_refused(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "app.py").write_text("x")
    os.mkfifo(folder / "pipe")
    with pytest.raises(TaskArgumentError, match="'pipe' is not a regular file"):
        spec_of(str(folder))


def test_a_symlinked_package_root_is_resolved_too(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "p.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip
    alias = tmp_path / "alias"
    alias.symlink_to(real)
    assert spec_of(str(alias / "p.zip"), root=str(alias)).path == str(real / "p.zip")
    (tmp_path / "other").mkdir()
    with pytest.raises(TaskArgumentError, match="outside package_root"):
        spec_of(str(alias / "p.zip"), root=str(tmp_path / "other"))


# -- stored records ------------------------------------------------------------------------------

GOOD = {
    "deployment_id": "3f2b1c9e-1111-2222-3333-444455556666",
    "content": "a" * 64,
    "checksum": "b" * 64,
    "scm_host": "shop.scm.azurewebsites.net",
    "resource_id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Web/sites/shop",
    "type": "zip",
    "source": "file",
    "bytes": 10,
    "uploaded_at": 1_700_000_000.0,
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"content": "A" * 64}, "content"),
        ({"checksum": 5}, "checksum"),
        ({"scm_host": ["x"]}, "scm_host"),
        ({"resource_id": "https://evil/"}, "resource_id"),
        ({"type": "exe"}, "type"),
        ({"bytes": True}, "bytes"),
        ({"known": ["x"] * (KNOWN_CAP + 1)}, "known"),
        ({"known": [""]}, "known"),
        ({"floor": "yesterday"}, "floor"),
        ({"intent_at": "now"}, "intent_at"),
        ({"deployment_id": "../x"}, "deployment_id"),
    ],
)
def test_a_rewritten_record_is_refused_naming_its_field(change, field):
    with pytest.raises(TaskArgumentError, match=field):
        read_record({**GOOD, **change}, "appservice_deployment", "delete the key")
    assert read_record(GOOD, "k", "fix").deployment_id == GOOD["deployment_id"]


def test_a_record_that_is_not_a_dict_is_refused():
    with pytest.raises(TaskArgumentError, match="not a record"):
        read_record(["x"], "appservice_deployment", "delete the key")


def dep(i: str, when: str | None) -> dict:
    return {"id": i, "received_time": when, "status": 4}


def test_deployments_since_an_intent_compare_kudus_list_with_itself():
    before = [dep("b", "2026-01-01T00:00:02Z"), dep("a", "2026-01-01T00:00:01Z")]
    intent = read_record({"content": "a" * 64, **snapshot(before)}, "k", "fix")
    assert intent.is_intent and since_intent(before, intent) == []
    now = [dep("c", "2020-01-01T00:00:00Z"), *before]  # a skewed clock does not hide it
    assert [d["id"] for d in since_intent(now, intent)] == ["c"]


def test_a_capped_snapshot_uses_the_oldest_kept_time_as_its_floor():
    many = [dep(f"d{i}", f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z") for i in range(KNOWN_CAP + 50)][::-1]
    kept = snapshot(many)
    assert len(kept["known"]) == KNOWN_CAP and kept["floor"] is not None
    intent = read_record({"content": "a" * 64, **kept}, "k", "fix")
    assert since_intent(many, intent) == [], "the purged-from-the-snapshot old ones are not new"
    fresh = [dep("new", "2026-01-01T09:00:00Z"), dep("odd", None), *many]
    assert [d["id"] for d in since_intent(fresh, intent)] == ["new", "odd"]


def test_the_ambiguity_message_says_what_to_check_and_how_to_go_on():
    intent = read_record({"content": "c" * 64, "known": [], "intent_at": 1_800_000_000.0}, "k", "fix")
    error = ambiguity_error("shop", "shop.scm.azurewebsites.net", intent, [dep("d1", "2027-01-15T08:00:00Z")], "DEL")
    text = str(error)
    for fragment in ("https://shop.scm.azurewebsites.net/api/deployments", "d1", "2027-01-15 08:00:00 UTC"):
        assert fragment in text
    assert "mark this task success" in text and "DEL, then clear the task" in text


# -- the orphan guard ------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_guard_sets_the_parent_death_signal_and_restores_it():
    before = parent_death_signal()
    with orphan_guard() as check:
        assert parent_death_signal() == 9
        check()
    assert parent_death_signal() == before


def test_the_per_chunk_check_stops_a_reader_whose_parent_changed(tmp_path, monkeypatch):
    package = tmp_path / "p.bin"
    package.write_bytes(os.urandom(200_000))
    with orphan_guard() as check, StreamingReader(str(package), chunk=65536, check=check) as reader:
        assert len(reader.read()) == 65536
        monkeypatch.setattr(os, "getppid", lambda: 1)
        with pytest.raises(ParentGone, match="upload was stopped"):
            reader.read()


CHILD = """
import os, sys
sys.path.insert(0, {repo!r})
from airflow_provider_appservice.operations.orphan_guard import orphan_guard
with orphan_guard():
    os.write({ready}, b"in the upload\\n")
    os.read(0, 1)  # blocks: only a signal ends it
os.write({ready}, b"left the guard\\n")
"""

PARENT = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", {child!r}], pass_fds=({ready},), stdin=subprocess.PIPE)
print(child.pid, flush=True)
os.read(0, 1)  # wait to be killed
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_an_orphaned_uploader_dies_with_its_parent():
    """A real process tree: the parent is SIGKILLed (a Celery worker's ``kill -9``); the child,
    blocked inside the guard, dies at once instead of going on."""
    read_end, write_end = os.pipe()
    child = CHILD.format(repo=str(REPO), ready=write_end)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(child=child, ready=write_end)],
        pass_fds=(write_end,),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    os.close(write_end)
    try:
        assert select.select([read_end], [], [], 60)[0], "the child never entered the guard"
        assert os.read(read_end, 100) == b"in the upload\n"
        child_pid = int(parent.stdout.readline())
        parent.kill()
        parent.wait()
        # EOF once every writer is gone: the child died (it would write "left the guard" first).
        assert select.select([read_end], [], [], 30)[0], "the orphan is still alive"
        assert os.read(read_end, 100) == b"", f"child {child_pid} left the guard alive"
    finally:
        os.close(read_end)
        parent.stdin.close()
        parent.stdout.close()


@pytest.mark.parametrize(
    ("package", "target_path", "argument"),
    [
        ("https://user:pw@acct.blob.core.windows.net/c/app.zip", None, "package"),
        ("https://acct.blob.core.windows.net/c/app.zip", "../etc", "target_path"),
        ("https://acct.blob.core.windows.net/c/app.zip", "webapps/../../x", "target_path"),
        ("https://acct.blob.core.windows.net/c/app.zip", "a\\b", "target_path"),
    ],
)
def test_urls_with_credentials_and_paths_that_climb_are_refused(package, target_path, argument):
    with pytest.raises(TaskArgumentError, match=f"Argument '{argument}'"), prepare_package(package, None, target_path):
        pass


def test_flags_must_read_as_flags():
    from airflow_provider_appservice.operators.deploy_arguments import flag

    assert flag("true", "clean") is True and flag("0", "clean") is False and flag("", "clean") is None
    with pytest.raises(TaskArgumentError, match="Argument 'restart'"):
        flag("maybe", "restart")
