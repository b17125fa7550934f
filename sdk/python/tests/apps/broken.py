"""A module that fails to import: the worker says so in one line."""

raise RuntimeError("the settings file is missing")
