lvm:
  pv: /dev/drbd1
  vg: vg_node1
  lv: lv_node1
  size: 1G
