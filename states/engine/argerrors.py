"""What a state's argument error says: pydantic's "Extra inputs are not permitted" does not
tell a Salt user whether the argument is misspelt or a Salt argument saline does not take,
nor what to write instead. This names the arguments the function takes, and for Salt's
arguments that every state accepts (``unless``, ``onlyif``, ``retry`` …) says what to do."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from saline.protocol.codec import describe_validation_error

# Salt's arguments for every state (salt.state's STATE_RUNTIME_KEYWORDS and friends) that
# saline's state functions do not take, with what to write instead.
SALT_GLOBAL_ARGS = {
    "unless": "saline takes unless/onlyif only on cmd.run and cmd.wait: decide in Jinja from a grain or "
              "pillar value, or make this state onchanges/require a cmd.run that checks",
    "onlyif": "saline takes unless/onlyif only on cmd.run and cmd.wait: decide in Jinja from a grain or "
              "pillar value, or make this state onchanges/require a cmd.run that checks",
    "creates": "saline takes creates only on cmd.run and cmd.wait",
    "retry": "saline runs each state once (a state that fails leaves the node as its re-plan shows): "
             "remove retry, or loop inside a cmd.run with shell: /bin/sh",
    "parallel": "saline runs states one at a time: remove parallel",
    "check_cmd": "saline takes no check_cmd here: validate with a cmd.run that requires this state",
    "reload_modules": "saline needs no module reload: remove it",
    "reload_pillar": "saline renders pillar once per run on the master: remove it",
    "reload_grains": "saline's grains are the facts the agent reported for this run: remove it",
    "fire_event": "saline sends no per-state events: remove it",
}


def describe_args_error(fun: str, model: type[BaseModel], exc: ValidationError) -> str:
    """One line: each bad field as pydantic says it, an unknown argument named with what the
    function takes (or, for Salt's global ones, what to write instead)."""
    def top_level_extra(e: dict) -> bool:  # an unknown key nested in a value stays pydantic's message
        return e.get("type") == "extra_forbidden" and len(e.get("loc", ())) == 1

    unknown = [str(e["loc"][0]) for e in exc.errors() if top_level_extra(e)]
    owner_ids = [str(e["loc"][0]) for e in exc.errors()
                 if e.get("type") == "string_type" and e.get("loc") in (("user",), ("group",), ("owner",))
                 and isinstance(e.get("input"), int)]
    if owner_ids:  # Salt takes a uid/gid there; saline compares owners by name
        return f"{fun}: " + "; ".join(f"{name}: a number; saline takes a {'group' if name == 'group' else 'user'} "
                                      f"name here (user: nobody, group: nogroup), not an id" for name in owner_ids)
    if not unknown:
        return f"{fun}: {describe_validation_error(exc)}"
    parts = []
    for name in unknown[:5]:
        hint = SALT_GLOBAL_ARGS.get(name)
        if hint:
            parts.append(f"{fun}: Salt's argument {name!r} is not supported ({hint})")
        else:
            parts.append(f"{fun}: unknown argument {name!r} (a misspelling, or a Salt argument saline does not "
                         f"take; {fun} takes: {', '.join(sorted(model.model_fields))})")
    others = [e for e in exc.errors() if not top_level_extra(e)]
    if others:
        parts.append(f"{fun}: " + "; ".join(f"{'.'.join(map(str, e.get('loc', ()))) or '<message>'}: {e.get('msg')}"
                                            for e in others[:5]))
    return "; ".join(parts)
