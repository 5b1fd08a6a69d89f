# The seed's cluster options, and one side of its resource stack
# (DRBD r1 promoted → LVM vg_node1 → Filesystem /lxc1 → lxc container) with the
# seed's op timeouts. This kernel has no DRBD, device-mapper or LVs for containers,
# so the stack uses stand-ins with the same shape that really start, promote and fail
# over: ocf:pacemaker:Stateful for DRBD and ocf:pacemaker:Dummy for the rest.
cluster-options:
  pacemaker.properties:
    - properties:
        stonith-enabled: false
        no-quorum-policy: ignore
        start-failure-is-fatal: false

drbd_r1:
  pacemaker.primitive:
    - agent: ocf:pacemaker:Stateful
    - ops:
      - {name: monitor, interval: 29s, role: Promoted, timeout: 20s}
      - {name: monitor, interval: 31s, role: Unpromoted, timeout: 20s}

ms_drbd_r1:
  pacemaker.clone:
    - resource: drbd_r1
    - promotable: true
    - meta: {promoted-max: 1, promoted-node-max: 1, clone-max: 2, clone-node-max: 1, notify: true}
    - require:
      - pacemaker: drbd_r1

{% for name, ops in [('lvm_vg_node1', [{'name': 'start', 'timeout': '240s'}, {'name': 'stop', 'timeout': '240s'}]),
                     ('fs_lxc1', []),
                     ('lxc_ct1', [{'name': 'start', 'timeout': '60s'}, {'name': 'stop', 'timeout': '60s'},
                                  {'name': 'monitor', 'interval': '60s', 'timeout': '30s'}])] %}
{{ name }}:
  pacemaker.primitive:
    - agent: ocf:pacemaker:Dummy
    - ops: {{ ops | tojson }}
{% endfor %}

grp_lxc1:
  pacemaker.group:
    - members: [lvm_vg_node1, fs_lxc1, lxc_ct1]
    - require:
      - pacemaker: lxc_ct1

grp_lxc1_on_drbd_r1:
  pacemaker.colocation:
    - resource: grp_lxc1
    - with_resource: ms_drbd_r1
    - with_rsc_role: Promoted
    - require:
      - pacemaker: grp_lxc1
      - pacemaker: ms_drbd_r1

drbd_r1_before_grp_lxc1:
  pacemaker.order:
    - first: ms_drbd_r1
    - first_action: promote
    - then: grp_lxc1
    - require:
      - pacemaker: grp_lxc1_on_drbd_r1

grp_lxc1_prefers_node1:
  pacemaker.location:
    - resource: grp_lxc1
    - node: node1
    - score: 100
    - require:
      - pacemaker: grp_lxc1

# saline's Pacemaker alert agent (each agent installs it in its node's /run/saline and
# listens on the socket next to it): every alert becomes an event at the master.
saline-events:
  pacemaker.alert:
    - path: /run/saline/pacemaker-alert
    - recipients: [/run/saline/agent-events.sock]
