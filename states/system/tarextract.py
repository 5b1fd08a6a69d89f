"""Extract exactly the archive bytes that were checked: ``python -m saline.states.system.tarextract
ARCHIVE SHA256 DEST [TAR OPTION …]``.

archive.extracted lists and hashes the archive in its facts, and tar runs later, in a step.
Whoever can write the archive (an archive on the node in a user's directory) or the
destination (``user:`` makes it that user's, and a ``salt://`` archive's copy is written
there) could swap it in between, and tar would extract unchecked members as root, setuid
bits and owners included. So this step opens the archive without following a link,
copies it into an unlinked temporary file only root can reach while hashing it, refuses it
when the hash is not the one the facts saw, and has tar read that private copy.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile

BLOCK = 1 << 20


def private_copy(archive: str, sha256: str):
    """An unlinked temporary file with the archive's bytes, rewound; ValueError if they changed."""
    fd = os.open(archive, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    copy = tempfile.TemporaryFile()
    digest = hashlib.sha256()
    with os.fdopen(fd, "rb") as src:
        for block in iter(lambda: src.read(BLOCK), b""):
            digest.update(block)
            copy.write(block)
    if digest.hexdigest() != sha256:
        copy.close()
        raise ValueError(f"{archive} changed after it was checked (sha256 {digest.hexdigest()}, checked "
                         f"{sha256}); nothing extracted")
    copy.seek(0)
    return copy


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: tarextract ARCHIVE SHA256 DEST [TAR OPTION …]", file=sys.stderr)
        return 2
    archive, sha256, dest, *options = argv
    try:
        copy = private_copy(archive, sha256)
    except (OSError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    with copy:  # by its fd, not stdin: tar detects the compression only in a file it can seek
        fd = copy.fileno()
        return subprocess.run(["tar", "-x", *options, "-f", f"/dev/fd/{fd}", "-C", dest], pass_fds=(fd,)).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
