"""The staff console: the ``admin`` blueprint, its areas, sign-in and scope."""
