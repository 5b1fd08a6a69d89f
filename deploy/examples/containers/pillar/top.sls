base:
  'node1':
    - node1
