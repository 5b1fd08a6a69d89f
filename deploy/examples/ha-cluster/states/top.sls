base:
  'node*':
    - disks
    - boot
    - lvm
