"""The arguments of ``openvz.migrate`` (imported when the agent starts: kept light, no state engine)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from saline.states.engine.paths import NodePath
from saline.states.system import lxc as lxcsys
from saline.states.system.lvm import SizeText


class MigrateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ctid: int = Field(ge=1, le=2**31 - 1)
    name: lxcsys.ContainerName
    vg: str | None = None  # checked as an LVM name when a job is validated (no state engine at agent start)
    size: SizeText | None = None
    backing: Literal["lvm", "dir"] = "lvm"  # dir: sites (and tests) without LVM
    lxcpath: NodePath = lxcsys.DEFAULT_LXCPATH
    link: str = "br0"
    source_host: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")  # ssh target; None: this node
    private: NodePath | None = None  # default /vz/private/CTID
    veconf: NodePath | None = None  # default /etc/vz/conf/CTID.conf
    vzctl: str = "vzctl"
    staging: NodePath = "/mnt/lxcmigrate"
    keep_running: bool = False  # leave the container running after the test start

    @model_validator(mode="after")
    def _backing(self) -> "MigrateArgs":
        if self.backing == "lvm" and (self.vg is None or self.size is None):
            raise ValueError("backing lvm needs vg and size")
        if self.vg is not None:
            from saline.states.modules.lvm import check_lvm_name

            check_lvm_name(self.vg)
        return self

    @property
    def private_dir(self) -> str:
        return self.private or f"/vz/private/{self.ctid}"

    @property
    def veconf_path(self) -> str:
        return self.veconf or f"/etc/vz/conf/{self.ctid}.conf"

    def identity(self) -> dict[str, str]:
        return {"ctid": str(self.ctid), "name": self.name, "backing": self.backing, "lxcpath": self.lxcpath,
                "source": f"{self.source_host or 'local'}:{self.private_dir}"}
