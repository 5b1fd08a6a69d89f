"""saline.protocol: the wire messages, their packing and signing, shared by master and agent."""

__version__ = "0.1.0"
