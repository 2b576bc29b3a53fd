"""Command groups of the ``flask`` command, one module per group."""
