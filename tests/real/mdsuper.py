"""Write a real md v1.2 superblock from userspace, so ``mdadm --examine`` and ``blkid``
can be run for real on this kernel (which has no md driver: ``mdadm --create`` fails).

The layout is ``struct mdp_superblock_1`` from the kernel's
``include/uapi/linux/raid/md_p.h`` (v1.2: 4 KiB from the start of the device), with the
checksum computed as the kernel's ``calc_sb_1_csum`` does. Only what a RAID1 member
needs is filled in; the point is that the real tools read it.
"""

from __future__ import annotations

import os
import struct
import time
import uuid as uuidlib

MD_SB_MAGIC = 0xA92B4EFC
SUPER_OFFSET_SECTORS = 8  # v1.2: 4K from the start
DATA_OFFSET_SECTORS = 2048
MAX_SECTOR = 0xFFFFFFFFFFFFFFFF  # resync_offset: fully in sync


def _csum(sb: bytes) -> int:
    total = sum(struct.unpack_from(f"<{len(sb) // 4}I", sb))
    if len(sb) % 4:
        total += struct.unpack_from("<H", sb, len(sb) - 2)[0]
    return ((total & 0xFFFFFFFF) + (total >> 32)) & 0xFFFFFFFF


def write_md_superblock(
    device: str,
    *,
    array_uuid: uuidlib.UUID,
    name: str,
    role: int,
    raid_disks: int = 2,
    level: int = 1,
) -> None:
    """Write a clean member superblock (device role ``role``) of a RAID``level`` array."""
    fd = os.open(device, os.O_RDWR)
    try:
        dev_sectors = os.lseek(fd, 0, os.SEEK_END) // 512
        data_size = dev_sectors - DATA_OFFSET_SECTORS
        max_dev = raid_disks
        sb = bytearray(256 + 2 * max_dev)
        now = int(time.time())
        struct.pack_into("<IIII", sb, 0, MD_SB_MAGIC, 1, 0, 0)
        sb[16:32] = array_uuid.bytes
        sb[32:64] = name.encode()[:32].ljust(32, b"\0")
        struct.pack_into("<QiiQII", sb, 64, now, level, 0, data_size, 0, raid_disks)
        struct.pack_into("<QQQQII", sb, 128, DATA_OFFSET_SECTORS, data_size, SUPER_OFFSET_SECTORS, 0, role, 0)
        sb[168:184] = uuidlib.uuid4().bytes
        struct.pack_into("<QQQII", sb, 192, now, 1, MAX_SECTOR, 0, max_dev)
        for i in range(max_dev):
            struct.pack_into("<H", sb, 256 + 2 * i, i)
        struct.pack_into("<I", sb, 216, _csum(bytes(sb)))
        os.lseek(fd, SUPER_OFFSET_SECTORS * 512, os.SEEK_SET)
        os.write(fd, bytes(sb))
        os.fsync(fd)
    finally:
        os.close(fd)
