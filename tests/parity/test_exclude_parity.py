"""Salt's top-level ``exclude:`` through Salt 3008.5 and saline: the same states leave the run."""

from __future__ import annotations

import pytest

from tests.parity.test_parity import same_everywhere

pytestmark = pytest.mark.parity


def test_exclude_by_id_and_by_sls(sides) -> None:
    applied = same_everywhere(sides, """
        include:
          - lib
          - extra.one
          - extra.two
        exclude:
          - id: lib-dropped
          - sls: 'extra.*'
        {out}/main:
          file.managed: [{contents: main}]
    """, files={
        "lib.sls": "{out}/kept:\n  file.managed: [{contents: k}]\nlib-dropped:\n  file.managed: [{name: {out}/no}, {contents: n}]\n",
        "extra/one.sls": "{out}/one:\n  file.managed: [{contents: '1'}]\n",
        "extra/two.sls": "{out}/two:\n  file.managed: [{contents: '2'}]\n",
    })
    assert sorted(applied["saline"]) == sorted(applied["salt"]) == [
        "file_|-OUT/kept_|-OUT/kept_|-managed", "file_|-OUT/main_|-OUT/main_|-managed"]
