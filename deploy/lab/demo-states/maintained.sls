# The demo's maintenance work (`saline maintenance run --work state:maintained`): applied
# to one node at a time while that node is drained.
/etc/saline-maintained:
  file.managed:
    - contents: |
        {{ grains['hostname'] }}: maintained by saline while drained (resources on the peer)
    - mode: "0644"
