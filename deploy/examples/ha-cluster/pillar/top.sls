base:
  '*':
    - common
  'node1':
    - node1
  'node2':
    - node2
