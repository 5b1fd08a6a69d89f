"""The ``openvz.migrate`` runbook: the seed's OpenVZ → LXC migration, step by step,
resumable (progress in ``progress.py``), one module per kind of step."""
