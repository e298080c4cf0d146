"""The shipped privacy databases (YAML), found by importlib.resources."""
