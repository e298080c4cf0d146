"""The shipped pipeline presets (YAML), found by importlib.resources."""
