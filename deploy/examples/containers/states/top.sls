base:
  'node*':
    - containers
