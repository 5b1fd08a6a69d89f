"""Agent side: applies a ``CompiledRun`` on the node.

``run`` walks the states in requisite order, ``apply`` takes one state through
facts → plan → apply → re-plan, ``base`` is the contract every state module implements,
``runner`` runs commands (argv only, timeouts, root prefix), ``report`` renders results.
"""
