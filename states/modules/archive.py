"""archive.extracted (Salt's) for tar archives: ``salt://`` sources (the master inlines the
file in the job, within its size limit) or an archive already on the node.

Arguments are Salt 3008's: ``source``, ``source_hash`` (``sha256=HEX``, ``md5=…`` or a bare
hex digest), ``skip_verify``, ``archive_format: tar``, ``options`` (tar options:
compression flags, ``--strip-components=N``, ``--no-same-owner``, ``--no-same-permissions``,
``-p``), ``enforce_toplevel``, ``if_missing``, ``user``/``group``, ``overwrite``,
``trim_output``. As in Salt, the archive is extracted when a member is missing under
``name`` (or ``overwrite``), and ownership is enforced on what it extracted. Changes are
Salt's: ``{"extracted_files": [...], "directories_created": [NAME], "updated ownership":
true}``.

The archive is listed before anything is extracted and refused, naming the member, when a
member would land outside ``name`` (:mod:`saline.states.system.tarlist`), when a path it
would extract through is a symlink under ``name``, or when a member's path holds another
kind of file (Salt's ``force`` is not supported: remove it first). Zip and rar archives,
remote URLs, ``clean``/``clean_parent`` and ``force`` are not there yet.
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import io
import os
import shlex
import stat
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from saline.states.engine.base import (CommandStep, Facts, MkdirStep, Plan, Refuse, RemoveStep, StateArgs,
                                       StateContext, WriteFileStep, state_function)
from saline.states.engine.paths import NodePath, check_node_path
from saline.states.system import accounts
from saline.states.system.tarlist import ArchiveRefused, Listing, list_archive

SALT_URL = "salt://"
HASH_LENGTHS = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
SHORT_FLAGS = set("zjJp")  # compression, and --same-permissions
LONG_OPTIONS = ("--gzip", "--bzip2", "--xz", "--lzma", "--same-permissions", "--preserve-permissions",
                "--no-same-permissions", "--no-same-owner", "--same-owner", "--numeric-owner")


def parse_hash(value: str) -> tuple[str, str]:
    """Salt's source_hash forms with a digest in them: ``ALGO=HEX`` or ``HEX``."""
    algo, _, digest = value.rpartition("=")
    digest = digest.strip().lower()
    if not all(c in "0123456789abcdef" for c in digest) or len(digest) not in HASH_LENGTHS:
        raise ValueError(f"source_hash {value!r} is not a hex digest (a file or URL of hashes is not supported)")
    algo = algo.strip().lower() or HASH_LENGTHS[len(digest)]
    if algo not in HASH_LENGTHS.values() or HASH_LENGTHS[len(digest)] != algo:
        raise ValueError(f"source_hash {value!r}: {algo} digests are not {len(digest)} hex digits")
    return algo, digest


def parse_options(options: str) -> tuple[list[str], int]:
    """Salt's tar ``options`` (a leading word of short flags, then options) → (tar argv, strip_components).
    Only options that change how, not where, members are written: a hostile ``--to-command``,
    ``-C /``, ``--absolute-names`` or ``--transform`` would defeat the member checks."""
    argv: list[str] = []
    strip = 0
    for n, word in enumerate(shlex.split(options)):
        if n == 0 and not word.startswith("-"):  # Salt: "xzf" → the flags after -x
            flags = word.replace("x", "").replace("f", "").replace("v", "")
            if set(flags) - SHORT_FLAGS:
                raise ValueError(f"options: tar flags {word!r}: only {''.join(sorted(SHORT_FLAGS))} are supported")
            argv += [f"-{c}" for c in flags]
            continue
        if word in ("-v", "--verbose"):
            continue
        key, _, value = word.partition("=")
        if key == "--strip-components" and value.isdigit():
            strip = int(value)
        elif word not in LONG_OPTIONS and not (len(word) == 2 and word[0] == "-" and word[1] in SHORT_FLAGS):
            raise ValueError(f"options: {word!r} is not supported (allowed: -{''.join(sorted(SHORT_FLAGS))}, "
                             f"{', '.join(LONG_OPTIONS)}, --strip-components=N)")
        argv.append(word)
    return argv, strip


class ExtractedArgs(StateArgs):
    name: NodePath
    source: str
    source_data: str | None = None  # the salt:// file, base64, put here by the master's compiler
    source_hash: str | None = None
    skip_verify: bool = False
    archive_format: Literal["tar"] | None = None
    options: str | None = None
    enforce_toplevel: bool = True
    if_missing: NodePath | None = None
    user: str | None = None
    group: str | None = None
    overwrite: bool = False
    trim_output: bool | int = Field(default=False, ge=0)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if value.startswith(SALT_URL):
            return value
        if value.startswith("file://"):
            value = value[len("file://"):]
        if "://" in value:
            raise ValueError(f"source {value!r}: only salt:// files and archives on the node are supported; fetch it "
                             f"onto the node first and give its path")
        return check_node_path(value)

    @model_validator(mode="after")
    def _consistent(self) -> ExtractedArgs:
        if self.source.startswith(SALT_URL) and self.source_data is None:
            raise ValueError(f"source {self.source}: a salt:// file is put in the job by the master (this state was "
                             f"not compiled by saline)")
        if self.source_hash is not None:
            parse_hash(self.source_hash)
        if self.options is not None:
            parse_options(self.options)
        if self.archive_format is None and self.source.lower().endswith((".zip", ".rar", ".7z")):
            raise ValueError(f"source {self.source}: only tar archives are supported (zip, rar: not yet)")
        return self


class ArchiveFacts(Facts):
    if_missing_exists: bool = False
    listing: Listing | None = None
    dest_host: str = ""
    dest_exists: bool = False
    missing: list[str] = []
    wrong_type: list[str] = []
    through_link: list[str] = []
    owner: tuple[int, int] | None = None  # the uid/gid to enforce (-1: leave)
    wrong_owner: bool = False
    archive_host: str | None = None  # the archive on the node (None: from the job)
    sha256: str = ""  # of the bytes listed: tar gets only these (states/system/tarextract.py)


def _archive_bytes(args: ExtractedArgs, ctx: StateContext) -> tuple[io.BufferedIOBase, str | None]:
    if args.source_data is not None:
        try:
            return io.BytesIO(base64.b64decode(args.source_data, validate=True)), None
        except binascii.Error:
            raise Refuse("source_data is not base64") from None
    path = ctx.runner.path(args.source)
    try:
        return open(path, "rb"), str(path)
    except OSError as exc:
        raise Refuse(f"Source file '{args.source}' does not exist or cannot be read ({exc.strerror})") from None


def _check_hash(args: ExtractedArgs, data: io.BufferedIOBase) -> str:
    """The archive's sha256 (the extract step checks tar gets these bytes); Refuse when
    ``source_hash`` does not match."""
    check = args.source_hash is not None and not args.skip_verify
    algo, want = parse_hash(args.source_hash) if check else ("sha256", "")  # type: ignore[arg-type]
    sha256 = hashlib.sha256()
    digest = sha256 if algo == "sha256" else hashlib.new(algo)
    for block in iter(lambda: data.read(1 << 20), b""):
        sha256.update(block)
        if digest is not sha256:
            digest.update(block)
    data.seek(0)
    if check and digest.hexdigest() != want:
        raise Refuse(f"{args.source} does not match the desired source_hash {want}")
    return sha256.hexdigest()


def _owner(args: ExtractedArgs, root: Path) -> tuple[int, int] | None:
    """user/group as ids of the root's own account files (a container's users are not the host's)."""
    if args.user is None and args.group is None:
        return None
    known = accounts.read(root)
    uid = gid = -1
    if args.user is not None:
        if args.user not in known.users:
            raise Refuse(f"User {args.user} does not exist")
        uid = known.users[args.user].uid
    if args.group is not None:
        found = known.gid_of(args.group)
        if found is None:
            raise Refuse(f"Group {args.group} does not exist")
        gid = found
    return uid, gid


def archive_facts(args: ExtractedArgs, ctx: StateContext) -> ArchiveFacts:
    if args.if_missing and os.path.lexists(ctx.runner.path(args.if_missing)):
        return ArchiveFacts(if_missing_exists=True)
    data, archive_host = _archive_bytes(args, ctx)
    try:
        sha256 = _check_hash(args, data)
        try:
            listing = list_archive(data, parse_options(args.options or "")[1])
        except ArchiveRefused as exc:
            raise Refuse(f"{args.source}: {exc}") from None
    finally:
        data.close()
    dest = ctx.runner.path(args.name)
    facts = ArchiveFacts(listing=listing, dest_host=str(dest), dest_exists=dest.is_dir(), archive_host=archive_host,
                         sha256=sha256, owner=_owner(args, ctx.runner.root))
    for member in listing.members:
        parts = member.name.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if (dest / prefix).is_symlink() and prefix not in facts.through_link:
                facts.through_link.append(prefix)
        try:
            st = os.lstat(dest / member.name)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                facts.missing.append(member.name)
                continue
            raise
        kind = "dir" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode) else "file"
        if kind != member.kind:
            facts.wrong_type.append(member.name)
        if facts.owner and any(want not in (-1, have) for want, have in zip(facts.owner, (st.st_uid, st.st_gid))):
            facts.wrong_owner = True
    return facts


@state_function("archive.extracted", ExtractedArgs, facts=archive_facts)
def extracted(args: ExtractedArgs, facts: ArchiveFacts) -> Plan:
    """Every member of the archive is under ``name`` (extracted when one is missing)."""
    if facts.if_missing_exists:
        return Plan(comment=f"Path {args.if_missing} exists")
    listing = facts.listing
    assert listing is not None
    dirs, files = listing.top_level()
    if args.enforce_toplevel and (len(dirs) > 1 or files):
        raise Refuse(f"Archive does not have a single top-level directory. To allow this archive to be extracted, "
                     f"set 'enforce_toplevel' to False. To avoid a '{args.archive_format or 'tar'}-bomb' it may also "
                     f"be advisable to set a top-level directory by adding it to the 'name' value (for example, "
                     f"setting 'name' to {os.path.join(args.name, 'some_dir')} instead of {args.name}).")
    if facts.through_link:
        raise Refuse(f"{', '.join(facts.through_link)} under {args.name} is a symlink: tar would extract through it; "
                     f"remove it first")
    if facts.wrong_type:
        raise Refuse(f"The below paths (relative to {args.name}) exist, but are the incorrect type (file instead of "
                     f"directory, symlink instead of file, etc.); remove them first ('force' is not supported): "
                     + ", ".join(facts.wrong_type))
    steps: list = []
    cleanup: list = []
    changes: dict = {}
    if args.overwrite or facts.missing:
        if not facts.dest_exists:
            owner = facts.owner or (-1, -1)
            steps.append(MkdirStep(description=f"Create {args.name}", path=args.name,
                                   user=str(owner[0]) if owner[0] >= 0 else None))
            changes["directories_created"] = [args.name.rstrip("/") + "/"]  # Salt: the name with a trailing /
        archive = facts.archive_host
        if archive is None:
            temp = f"{args.name.rstrip('/')}/.saline-archive-{hashlib.sha256(args.source.encode()).hexdigest()[:12]}"
            archive = f"{facts.dest_host.rstrip('/')}/{temp.rsplit('/', 1)[1]}"
            steps.append(WriteFileStep(description=f"Write {args.source} to {temp}", path=temp, mode=0o600,
                                       content=base64.b64decode(args.source_data or "")))
            cleanup.append(RemoveStep(description=f"Remove {temp}", path=temp))
        tar_opts = parse_options(args.options or "")[0]
        steps.append(CommandStep(description=f"Extract {args.source} to {args.name}",
                                 argv=[sys.executable, "-m", "saline.states.system.tarextract", archive, facts.sha256,
                                       facts.dest_host, *tar_opts]))
        limit = 100 if args.trim_output is True else args.trim_output  # Salt: True means 100
        names = listing.names[:limit] if limit else listing.names
        changes["extracted_files"] = names
    if facts.owner and (facts.wrong_owner or "extracted_files" in changes):
        uid, gid = facts.owner
        spec = (str(uid) if uid >= 0 else "") + (f":{gid}" if gid >= 0 else "")
        tops = [f"{facts.dest_host.rstrip('/')}/{t}" for t in dirs + files]
        steps.append(CommandStep(description=f"Set ownership of the extracted files to {args.user or ''}"
                                             f"{':' + args.group if args.group else ''}",
                                 argv=["chown", "-R", "-h", spec, "--", *tops]))
        changes["updated ownership"] = True
    if not steps:
        return Plan(comment="All files in archive are already present")
    return Plan(steps=steps, cleanup=cleanup, changes=changes)
