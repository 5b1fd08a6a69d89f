lvm:
  pv: /dev/drbd2
  vg: vg_node2
  lv: lv_node2
  size: 1G
