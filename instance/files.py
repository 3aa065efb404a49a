"""Writing an instance's files only when their content changes (so that DaCHS, which reloads what
changed, and the stamps that say what is done see no change where there is none)."""

import os


def write_if_changed(path, content):
    """Writes content to path unless it is there already; returns True if it wrote."""
    if read_text(path) == content:
        return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(content)
    return True


def read_text(path):
    """The file's text, or None if there is no file."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None
