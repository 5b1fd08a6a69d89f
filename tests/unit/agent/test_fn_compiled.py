"""pillar.* and state.show_*/sls_id on the agent: answered from what the master compiled, with
Salt's argument binding, defaults and masking (shapes checked against salt-call 3008.5)."""

from __future__ import annotations

import pytest

from saline.agent.functions import FunctionContext, FunctionError, bind_args, load_functions

PILLAR = {"a": {"b": 1, "c": ["x", "y"], "off": False, "empty": ""}, "motd": "hello"}
M = "**********"


def call(name: str, *args, **kwargs):
    fn = load_functions()[name]
    return fn.run(bind_args(fn, list(args), kwargs), FunctionContext(agent_id="node1", version="test"))


def test_pillar_values_are_masked_as_salt_3008_unless_unmask() -> None:
    # salt-call --local pillar.items: every truthy scalar redacted, falsy ones and the shape kept
    assert call("pillar.items", compiled=PILLAR) == {"a": {"b": M, "c": [M, M], "off": False, "empty": ""},
                                                     "motd": M}
    assert call("pillar.items", unmask=True, compiled=PILLAR) == PILLAR
    assert call("pillar.get", "a:b", compiled=PILLAR) == M


def test_pillar_get_colon_paths_list_indexes_default_and_merge() -> None:
    assert call("pillar.get", "a:b", unmask=True, compiled=PILLAR) == 1
    assert call("pillar.get", "a:c:1", unmask=True, compiled=PILLAR) == "y"
    assert call("pillar.get", "a:zz", unmask=True, compiled=PILLAR) == ""
    assert call("pillar.get", "a:zz", 7, unmask=True, compiled=PILLAR) == 7
    assert call("pillar.get", "a/b", delimiter="/", unmask=True, compiled=PILLAR) == 1
    assert call("pillar.get", "a", {"b": 0, "new": 2}, merge=True, unmask=True, compiled=PILLAR)["new"] == 2
    assert call("pillar.get", "a", {"b": 0, "new": 2}, merge=True, unmask=True, compiled=PILLAR)["b"] == 1


def test_pillar_item_takes_every_positional_argument_as_a_key() -> None:
    assert call("pillar.item", "a:c", "motd", "zz", unmask=True, compiled=PILLAR) == \
        {"a:c": ["x", "y"], "motd": "hello", "zz": ""}
    assert call("pillar.item", "zz", default=3, unmask=True, compiled=PILLAR) == {"zz": 3}
    with pytest.raises(FunctionError, match="keys"):
        call("pillar.item", compiled=PILLAR)


def test_grains_item_takes_several_keys_like_salt() -> None:
    fn = load_functions()["grains.item"]
    assert bind_args(fn, ["os", "osrelease"], {}).keys == ["os", "osrelease"]


def test_without_the_masters_data_the_call_says_how_to_make_it() -> None:
    for name, args in (("pillar.items", ()), ("state.show_top", ()), ("state.show_sls", ("web",))):
        with pytest.raises(FunctionError, match=f"{name} answers from what the master compiles"):
            call(name, *args)


def test_show_functions_return_the_compiled_view_and_bind_salts_positions() -> None:
    high = {"x": {"test": ["nop", {"order": 10000}], "__sls__": "web", "__env__": "base"}}
    assert call("state.show_sls", "web", compiled=high) == high
    assert call("state.show_top", compiled={"base": ["web"]}) == {"base": ["web"]}
    fn = load_functions()["state.sls_id"]
    bound = bind_args(fn, ["x", "web"], {"test": True})
    assert (bound.id, bound.mods, bound.test) == ("x", "web", True)
    # the master's argument comes as a keyword; a caller cannot also slip it in by position
    with pytest.raises(FunctionError, match="given twice"):
        bind_args(load_functions()["pillar.items"], [False, None, {"a": 1}], {"compiled": PILLAR})
