# node1 runs its containers from vg_node1 (DRBD r1) with configs on /lxc1.
containers:
  www:
    lxcpath: /lxc1
    template: debian
    template_args: [-r, bookworm]
    vg: vg_node1
    size: 4G
    memory: 512M
    swap: 256M
    cpu_shares: 512
  test:
    lxcpath: /lxc1
    template: debian
    vg: vg_node1
    size: 1G
    memory: 2048M
    swap: 1024M
    cpu_shares: 768
container_group:
  name: grp_lxc1
  before: [lvm_1, fs_1]
