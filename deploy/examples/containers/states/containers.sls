# The seed's container stack, one container per pillar entry (pillar: containers):
#   rootfs on an LV of the node's DRBD-backed VG, config on the Pacemaker-mounted /lxcN,
#   br0 with a fixed MAC, limits, and an ocf:heartbeat:lxc resource with the seed's timeouts
#   at the end of the node's group (LVM → Filesystem /lxcN → containers).
{% for name, ct in salt['pillar.get']('containers', {}).items() %}
{{ name }}:
  lxc.present:
    - lxcpath: {{ ct.lxcpath }}
    - template: {{ ct.template }}
{%- if ct.get('template_args') %}
    - template_args: {{ ct.template_args | json }}
{%- endif %}
    - backing: lvm
    - vgname: {{ ct.vg }}
    - size: {{ ct.size }}
    - link: br0
    # Pacemaker starts it (res_lxc_NAME below), never lxc-autostart.
    - start_auto: false
    - memory: {{ ct.memory }}
    - swap: {{ ct.swap }}
    - cpu_shares: {{ ct.cpu_shares }}
{%- if ct.get('arch') %}
    - arch: {{ ct.arch }}
{%- endif %}
    # The seed's "tmpfs inside the container" advice instead of dropping sys_admin.
    - cap_drop: [sys_module, mac_admin, mac_override, sys_time]
    - mount_entries:
      - proc proc proc nodev,noexec,nosuid 0 0
      - sysfs sys sysfs defaults,ro 0 0

res_lxc_{{ name }}:
  pacemaker.primitive:
    - agent: ocf:heartbeat:lxc
    - params:
        container: {{ name }}
        config: {{ ct.lxcpath }}/{{ name }}/config
    - ops:
      - {name: start, timeout: 60s}
      - {name: stop, timeout: 60s}
      - {name: monitor, interval: 60s, timeout: 30s}
    - require:
      - lxc: {{ name }}
{% endfor %}

{% set group = salt['pillar.get']('container_group') %}
{% if group %}
{% set members = group.before[:] %}
{% for name in salt['pillar.get']('containers', {}) %}{% do members.append('res_lxc_' ~ name) %}{% endfor %}
{{ group.name }}:
  pacemaker.group:
    - members: {{ members | json }}
    - require:
{%- for name in salt['pillar.get']('containers', {}) %}
      - pacemaker: res_lxc_{{ name }}
{%- endfor %}
{% endif %}
