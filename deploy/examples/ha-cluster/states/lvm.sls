# Best practices: udev must not auto-activate VGs found on DRBD devices behind Pacemaker's
# back; keep lvm2 from restoring the rule on upgrade.
lvm2-udev-autoactivation:
  file.comment:
    - name: /lib/udev/rules.d/85-lvm2.rules
    - regex: '^SUBSYSTEM=="block", ACTION=="add\|change", ENV\{ID_FS_TYPE\}=="lvm'

lvm2:
  pkg.held:
    - require:
      - file: lvm2-udev-autoactivation

# "Create the container configuration disk space" (on the node where this DRBD resource is primary).
{% set lvm = pillar.lvm %}
{{ lvm.vg }}:
  lvm.vg_present:
    - devices: [{{ lvm.pv }}]

{{ lvm.lv }}:
  lvm.lv_present:
    - vgname: {{ lvm.vg }}
    - size: {{ lvm.size }}
    - require:
      - lvm: {{ lvm.vg }}

/dev/{{ lvm.vg }}/{{ lvm.lv }}:
  blockdev.formatted:
    - fs_type: ext4
    - require:
      - lvm: {{ lvm.lv }}

{% for mnt in pillar.lxc.mountpoints %}
{{ mnt }}:
  file.directory:
    - mode: '0755'
{% endfor %}
