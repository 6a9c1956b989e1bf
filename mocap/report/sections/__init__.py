"""The sections of a take's report; each ``build(inputs, context)`` returns a ``Section`` or ``None``
when its inputs do not exist."""
