"""Master side: SLS files (Jinja + YAML), top file and pillar → a ``CompiledRun``.

Runs on the master for each targeted agent (and in masterless ``saline call``). Nothing
here touches the node it compiles for; ``compiled`` is the data the agent receives.
"""
