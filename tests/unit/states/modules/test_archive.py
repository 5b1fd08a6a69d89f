"""archive.extracted: arguments, tar options and hashes, and the master's inlining of a
salt:// archive into the job."""

from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from saline.states.compile import sources
from saline.states.compile.compiler import CompileError, compile_file
from saline.states.modules import archive as mod
from saline.states.system.tarlist import list_archive


def test_options_are_salts_and_only_safe_ones() -> None:
    assert mod.parse_options("xzf --strip-components=2 -v") == (["-z", "--strip-components=2"], 2)
    assert mod.parse_options("--no-same-owner -J") == (["--no-same-owner", "-J"], 0)
    for bad in ("--to-command=sh", "-C /", "--absolute-names", "P", "--transform=s,^,../,", "--exclude=x"):
        with pytest.raises(ValueError, match="supported"):
            mod.parse_options(bad)


def test_source_hash_forms() -> None:
    assert mod.parse_hash("sha256=" + "A" * 64) == ("sha256", "a" * 64)
    assert mod.parse_hash("d41d8cd98f00b204e9800998ecf8427e") == ("md5", "d41d8cd98f00b204e9800998ecf8427e")
    for bad in ("sha256=abc", "md5=" + "a" * 64, "https://example.com/SHA256SUMS"):
        with pytest.raises(ValueError):
            mod.parse_hash(bad)


def test_bad_arguments() -> None:
    with pytest.raises(ValidationError, match="only tar archives"):
        mod.ExtractedArgs(name="/opt", source="/srv/a.zip")
    with pytest.raises(ValidationError, match="put in the job by the master"):
        mod.ExtractedArgs(name="/opt", source="salt://a.tgz")
    with pytest.raises(ValidationError, match="absolute"):
        mod.ExtractedArgs(name="opt", source="/srv/a.tgz")
    assert mod.ExtractedArgs(name="/opt", source="file:///srv/a.tgz").source == "/srv/a.tgz"


def _tar(path: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("app/x")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


def test_salt_source_is_put_in_the_job_base64(tmp_path: Path, monkeypatch) -> None:
    data = _tar(tmp_path / "app.tgz")
    (tmp_path / "main.sls").write_text("/opt/app:\n  archive.extracted:\n    - source: [salt://nope.tgz, salt://app.tgz]\n"
                                       "/opt/gone:\n  archive.extracted:\n    - source: salt://missing.tgz\n")
    run = compile_file(tmp_path / "main.sls", {}, {"hostname": "n"}, "n")
    app, gone = run.states
    assert app.args["source"] == "salt://app.tgz" and base64.b64decode(app.args["source_data"]) == data
    assert list_archive(io.BytesIO(data)).names == ["app/x"]
    assert "none of salt://missing.tgz exists" in gone.error  # fails that state at run time, as in Salt
    monkeypatch.setattr(sources, "MAX_INLINE_ARCHIVE", 10)
    with pytest.raises(CompileError, match="copy the archive onto the node"):
        compile_file(tmp_path / "main.sls", {}, {"hostname": "n"}, "n")
