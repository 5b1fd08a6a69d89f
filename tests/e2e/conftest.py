import pytest

from .procs import Deployment


@pytest.fixture
def deployment(tmp_path):
    """A started master (no agents yet); every process is killed at teardown."""
    d = Deployment(tmp_path)
    try:
        d.start_master()
        yield d
    finally:
        d.close()


@pytest.fixture
def two_agents(deployment):
    """Master plus node1 and node2, keys accepted, both up."""
    deployment.add_agent("node1")
    deployment.add_agent("node2")
    deployment.accept("node1", "node2")
    return deployment
