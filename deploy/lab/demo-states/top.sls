# The demo's highstate: cluster-wide Pacemaker configuration goes to one node
# (the CIB is replicated by Pacemaker itself); every node gets its motd.
base:
  'node*':
    - motd
  'node1':
    - cluster
