# Both nodes: two identical disks, partition 1 the ESP (not mirrorable), 2-6 md RAID1.
raid:
  arrays:
    /dev/md0: [/dev/sda2, /dev/sdb2]   # /      50 GB
    /dev/md1: [/dev/sda3, /dev/sdb3]   # /var   10 GB
    /dev/md2: [/dev/sda4, /dev/sdb4]   # swap    8 GB
    /dev/md3: [/dev/sda5, /dev/sdb5]   # drbd r1 backing (465 GB)
    /dev/md4: [/dev/sda6, /dev/sdb6]   # drbd r2 backing (465 GB)
  metadata: '1.2'

esp:
  disks:
    - {disk: /dev/sda, partition: 1, bootloader_id: ubuntu}
    - {disk: /dev/sdb, partition: 1, bootloader_id: ubuntu2}

grub:
  settings:
    GRUB_TIMEOUT: 5                 # software RAID boot errors were seen with 2 s
    GRUB_DISABLE_OS_PROBER: true    # os-prober scanning LVM/DRBD devices hangs failovers

lxc:
  mountpoints: [/lxc1, /lxc2]
