"""How a node is read and edited: one module per tool or file format.

Parsers of real tool outputs (mdadm, lvm, drbd, efibootmgr/sfdisk, ip, blkid, dpkg,
crm metadata), readers/writers of config files (fstab, ifupdown, key=value lines), the
CIB, the init system and the node's facts. State modules build on these; nothing here
decides what should change.
"""
