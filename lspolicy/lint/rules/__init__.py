"""The lint rules: one module per rule, named for what it flags, each with one ``RULE``.

A module's docstring is its rule's documentation, in five sections (What it does, Why is this
bad, Example, Use instead, References); ``lspolicy rule CODE`` prints it. `lspolicy.lint.registry`
finds the modules here and joins them into ``RULES``.
"""
