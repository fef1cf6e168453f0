"""Places: boundaries, maps, the old-to-new crosswalk and hot spots.

The boundary functions (``read_boundaries``, ``schematic_boundaries``, ...) are also importable
from here, where they lived before the package was laid out in subpackages.
"""

from .boundaries import *  # noqa: F401,F403
from .boundaries import __all__  # noqa: F401
