"""A module next to the script (imports from the code directory must work)."""

SCALE = 2
