"""Reading an earlier migration's SQL, for a later migration's downgrade.

Migration files start with digits, so they cannot be imported by name; a later
migration that replaces a function restores the earlier text from the file
that created it instead of keeping a second copy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

VERSIONS = Path(__file__).with_name("versions")


def definition(migration_file: str, name: str) -> str:
    """The module-level string `name` of `versions/<migration_file>`."""
    spec = importlib.util.spec_from_file_location(
        f"zhangyin_migration_{migration_file[:4]}", VERSIONS / migration_file
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = getattr(module, name)
    assert isinstance(text, str)
    return text
