"""Old names kept for one release: a module's ``__getattr__`` that finds a moved name in its new home."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping

__all__ = ["moved_names"]


def moved_names(
    module: str, moved: Mapping[str, str], *, renamed: Mapping[str, str] | None = None
) -> Callable[[str], object]:
    """A module-level ``__getattr__`` serving the names that left ``module``, with a DeprecationWarning.

    ``moved`` maps each old name to the module it went to (imported only when the name is
    used, so a model module never imports its figures or prose); ``renamed`` gives the new
    name where it changed.

    Examples
    --------
    >>> import warnings
    >>> getattr_ = moved_names("old.place", {"sqrt": "math"})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     getattr_("sqrt")(9.0), str(caught[0].message)
    (3.0, 'old.place.sqrt moved to math.sqrt; the old name will be removed in the next release')
    """
    renamed = dict(renamed or {})

    def __getattr__(name: str) -> object:
        if name in moved:
            new = renamed.get(name, name)
            warnings.warn(
                f"{module}.{name} moved to {moved[name]}.{new}; the old name will be removed in the next release",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(importlib.import_module(moved[name]), new)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
