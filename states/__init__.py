"""States: from SLS files on the master to idempotent changes on a node.

- ``compile``: master side. SLS + top file + pillar → one signed-ready ``CompiledRun``.
- ``engine``: agent side. facts → plan → apply → re-plan for each compiled state; the
  state-module contract (``base``), the command runner and the result report.
- ``system``: how a node is read and edited, one module per tool or file format
  (mdadm, lvm, drbd, the CIB, fstab, ifupdown …). Pure parsers and writers plus the
  read-only commands that feed them; no state logic.
- ``modules``: the state modules users name in SLS (``file.managed``, ``drbd.resource`` …).
- ``call``: masterless ``saline call``: compile and engine on this machine.
"""
