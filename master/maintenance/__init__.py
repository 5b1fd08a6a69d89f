"""Rolling maintenance of a two-node cluster: one node at a time, gated, fail-stop,
persisted in the master's SQLite store and resumable (``saline maintenance …``).

``spec`` what was asked; ``lock`` the cluster-wide lock; ``store`` runs, steps, evidence;
``gates`` the verdicts before a node leaves (pure); ``steps`` what each step asks of the
agents; ``driver`` runs those steps inside the master's loop; ``service`` the control
requests.
"""
