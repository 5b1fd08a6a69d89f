"""What is on a block device, as ``blkid`` sees it: the evidence disk states show before
they refuse to overwrite something.

``blkid -p`` probes the device itself (no cache), so a fresh signature is seen at once.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from saline.states.engine.runner import Runner

# blkid's exit status when the device exists but carries no recognised signature.
BLKID_NOTHING_FOUND = 2
# Tags that mean "something is on this device": a filesystem/PV/md superblock, a partition
# table, or a probe that failed (ambivalent result: two overlapping signatures).
CONTENT_TAGS = ("TYPE", "PTTYPE", "BLKID_ERROR")


class BlockContent(BaseModel):
    """The signatures on one device. ``tags`` holds blkid's export lines (TYPE, UUID, PTTYPE, ...)."""

    device: str
    exists: bool
    tags: dict[str, str] = Field(default_factory=dict)

    @property
    def fs_type(self) -> str | None:
        return self.tags.get("TYPE")

    @property
    def uuid(self) -> str | None:
        return self.tags.get("UUID")

    @property
    def empty(self) -> bool:
        """No filesystem, PV, md superblock or partition table, and blkid did not fail."""
        return self.exists and not any(tag in self.tags for tag in CONTENT_TAGS)

    def evidence(self) -> str:
        """One line naming what blkid found, for a refusal comment."""
        if not self.exists:
            return f"{self.device} does not exist"
        if not self.tags:
            return f"blkid finds no signature on {self.device}"
        shown = " ".join(f"{k}={v}" for k, v in self.tags.items() if k != "DEVNAME")
        return f"blkid -p {self.device}: {shown}"


def parse_export(text: str) -> dict[str, str]:
    """Parse ``blkid -o export`` (KEY=value lines; values may carry backslash escapes)."""
    tags: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key:
            tags[key.strip()] = value.replace("\\ ", " ").strip()
    return tags


def probe(runner: Runner, device: str) -> BlockContent:
    if not runner.path(device).exists():
        return BlockContent(device=device, exists=False)
    result = runner.run(["blkid", "-p", "-o", "export", device])
    if result.rc == BLKID_NOTHING_FOUND:
        return BlockContent(device=device, exists=True)
    if result.rc != 0:
        # blkid -p reports "ambivalent result" (rc 8) when two signatures overlap: that is
        # content too, and exactly what must not be overwritten silently.
        detail = (result.stderr or result.stdout).strip()
        return BlockContent(device=device, exists=True, tags={"BLKID_ERROR": detail or f"rc={result.rc}"})
    return BlockContent(device=device, exists=True, tags=parse_export(result.stdout))
