import pytest

from tests.parity.saltside import Salt, Saline, salt_missing


@pytest.fixture
def sides(tmp_path):
    reason = salt_missing()
    if reason:
        pytest.skip(reason)
    return Salt("salt", tmp_path / "salt"), Saline("saline", tmp_path / "saline")
