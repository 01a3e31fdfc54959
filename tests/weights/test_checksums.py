"""checksums.txt: what sha256sum writes is read, what is written sha256sum checks, nothing is half-trusted."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hg_localization.errors import IntegrityError
from hg_localization.store.atomic import atomic_write_text
from hg_localization.weights.checksums import (
    ChecksumMismatchError,
    Checksums,
    ChecksumsFileError,
    FileSum,
    MissingFilesError,
    format_checksums,
    parse_checksums,
    parse_checksums_bytes,
    read_checksums,
    sum_file,
    verify_folder,
)

from helpers.weights_fixtures import write_folder

A = hashlib.sha256(b"a").hexdigest()
B = hashlib.sha256(b"b").hexdigest()


# --- parsing -------------------------------------------------------------------------------------


def test_text_and_binary_mode_names_with_spaces_sub_folders_and_comments() -> None:
    text = (
        "# weights of the song model\n"
        "\n"
        f"{A}  config.json\n"
        f"{B} *sub dir/model weights.bin\n"
        f"{A.upper()}  ./vae/decoder.pt\n"
        f"   # an indented comment\n"
    )
    parsed = parse_checksums(text)
    assert dict(parsed.sums) == {"config.json": A, "sub dir/model weights.bin": B, "vae/decoder.pt": A}


def test_crlf_line_ends_and_trailing_spaces_in_names_are_kept_exactly() -> None:
    parsed = parse_checksums(f"{A}  name with trailing space \r\n{B}  other\r\n")
    assert set(parsed) == {"name with trailing space ", "other"}


def test_bsd_style_lines() -> None:
    assert dict(parse_checksums(f"SHA256 (model (1).bin) = {A}\n").sums) == {"model (1).bin": A}


def test_gnu_escaped_names_are_understood_then_refused_by_name() -> None:
    with pytest.raises(ChecksumsFileError) as caught:
        parse_checksums(f"\\{A}  back\\\\slash\n")
    assert "line 1: The file path 'back\\\\slash' is absolute" in caught.value.message
    with pytest.raises(ChecksumsFileError, match="control characters"):
        parse_checksums(f"\\{A}  new\\nline\n")


def test_the_same_name_twice_with_the_same_sum_is_fine() -> None:
    assert len(parse_checksums(f"{A}  x\n{A} *x\n")) == 1


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not a checksum line\n", "line 1"),
        (f"{A[:-1]}  short-hash\n", "line 1"),
        (f"{A} nospace-or-star\n", "line 1"),
        (f"{A}\n", "line 1"),
        (f"{A}  ok\n{A}  ../escape\n", "line 2"),
        (f"{A}  /etc/passwd\n", "line 1"),
        (f"{A}  a//b\n", "line 1"),
        (f"{A}  x\n{B}  x\n", "listed twice"),
        ("# only comments\n\n", "lists no files"),
        ("", "lists no files"),
        (f"\\{A}  bad\\escape\n", "unknown escape"),
    ],
)
def test_malformed_files_are_refused_whole(text: str, problem: str) -> None:
    with pytest.raises(ChecksumsFileError) as caught:
        parse_checksums(text, source="checksums.txt")
    assert problem in caught.value.message
    assert "checksums.txt is not a valid checksums file" in caught.value.message
    assert isinstance(caught.value, IntegrityError)  # exit code 5, like any integrity failure


def test_non_utf8_and_unreadable_files_are_failures(tmp_path: Path) -> None:
    with pytest.raises(ChecksumsFileError, match="not UTF-8"):
        parse_checksums_bytes(b"\xff\xfe" + A.encode() + b"  x\n")
    with pytest.raises(ChecksumsFileError, match="cannot be read"):
        read_checksums(tmp_path / "missing.txt")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(ChecksumsFileError, match="cannot be read"):
        read_checksums(folder)


# --- writing, and agreeing with sha256sum ------------------------------------------------------------


def test_format_is_sorted_text_mode_and_round_trips() -> None:
    sums = {"z.bin": A, "a dir/b c.bin": B, "m (1).bin": A}
    text = format_checksums(sums)
    assert text.splitlines() == [f"{B}  a dir/b c.bin", f"{A}  m (1).bin", f"{A}  z.bin"]
    assert dict(parse_checksums(text).sums) == sums


def test_format_refuses_what_it_could_not_read_back() -> None:
    with pytest.raises(ValueError, match="not a sha256"):
        format_checksums({"x": "abc"})
    with pytest.raises(ValueError, match="absolute"):
        format_checksums({"back\\slash": A})


def _weights_folder(root: Path) -> dict[str, bytes]:
    files = {"model.bin": os.urandom(5000), "sub dir/with space.json": b"{}\n", "deep/a/b.txt": b"b\n"}
    write_folder(root, files)
    return files


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils' sha256sum")
def test_what_sha256sum_writes_is_read_and_what_is_written_sha256sum_checks(tmp_path: Path) -> None:
    files = _weights_folder(tmp_path)
    made = subprocess.run(
        ["sha256sum", "-b", *sorted(files)], cwd=tmp_path, capture_output=True, check=True
    ).stdout
    expected = {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    assert dict(parse_checksums_bytes(made).sums) == expected

    atomic_write_text(tmp_path / "checksums.txt", format_checksums(expected))
    checked = subprocess.run(
        ["sha256sum", "-c", "checksums.txt"], cwd=tmp_path, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


# --- verifying a folder ----------------------------------------------------------------------------


def test_verify_folder_names_missing_and_mismatched_files(tmp_path: Path) -> None:
    files = _weights_folder(tmp_path)
    sums = {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    sums["gone.bin"] = A
    (tmp_path / "model.bin").write_bytes(b"tampered")
    check = verify_folder(tmp_path, parse_checksums(format_checksums(sums)))
    assert not check.ok
    assert check.missing == ("gone.bin",)
    assert [m.path for m in check.mismatched] == ["model.bin"]
    assert check.mismatched[0].actual == hashlib.sha256(b"tampered").hexdigest()
    with pytest.raises(MissingFilesError, match=r"gone\.bin"):
        check.raise_for_problems(str(tmp_path))

    del sums["gone.bin"]
    check = verify_folder(tmp_path, parse_checksums(format_checksums(sums)))
    with pytest.raises(ChecksumMismatchError) as caught:
        check.raise_for_problems(str(tmp_path))
    assert caught.value.path == "model.bin"
    assert caught.value.expected == sums["model.bin"]


def test_known_sums_spare_a_rehash_until_size_or_mtime_change_or_rehash_is_asked(tmp_path: Path) -> None:
    files = _weights_folder(tmp_path)
    sums = {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    checksums = parse_checksums(format_checksums(sums))
    first = verify_folder(tmp_path, checksums)
    assert first.ok and first.hashed == 3

    again = verify_folder(tmp_path, checksums, known=first.proven)
    assert again.ok and again.hashed == 0

    # Same size, same mtime, other bytes: trusted without --verify (that is the contract) ...
    target = tmp_path / "model.bin"
    stat = target.stat()
    target.write_bytes(os.urandom(stat.st_size))
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert verify_folder(tmp_path, checksums, known=first.proven).ok
    # ... and caught by a rehash.
    rehashed = verify_folder(tmp_path, checksums, known=first.proven, rehash=True)
    assert [m.path for m in rehashed.mismatched] == ["model.bin"]
    # A new mtime alone is enough to hash again.
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert not verify_folder(tmp_path, checksums, known=first.proven).ok


def test_sum_file_reports_progress_and_remembers_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3000)
    seen: list[int] = []
    found = sum_file(path, seen.append)
    assert sum(seen) == 3000
    assert found == FileSum(3000, path.stat().st_mtime_ns, hashlib.sha256(b"x" * 3000).hexdigest())
    assert found.still_describes(path)
    assert not found.still_describes(tmp_path / "missing")


def test_verify_folder_hashes_the_files_on_every_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many files are hashed by several threads at once, and every result lands on its own path."""
    import threading

    from hg_localization.weights import checksums as module

    sums = {}
    for index in range(12):
        data = f"file {index}\n".encode() * (index + 1)
        (tmp_path / f"f{index}.txt").write_bytes(data)
        sums[f"f{index}.txt"] = hashlib.sha256(data).hexdigest()
    sums["f3.txt"] = "0" * 64  # one wrong
    threads: set[str] = set()
    real = module.sum_file

    def recording(path: Path, on_progress: object = None) -> module.FileSum:
        threads.add(threading.current_thread().name)
        return real(path)

    monkeypatch.setattr(module, "sum_file", recording)
    monkeypatch.setattr(module.os, "cpu_count", lambda: 2)
    check = verify_folder(tmp_path, Checksums(sums))
    assert any(name.startswith("hgloc-verify") for name in threads)
    assert check.hashed == 12
    assert [m.path for m in check.mismatched] == ["f3.txt"]
    assert sorted(check.proven) == sorted(p for p in sums if p != "f3.txt")
