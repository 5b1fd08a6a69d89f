"""Events from the nodes (and the master itself): the store, and the reactor that acts on them."""
