"""Targeting: eligibility and its accuracy, the risk of falling back, budget allocation.

The eligibility functions (``eligibility``, ``accuracy``, ``priority_index``, ...) are also
importable from here, where they lived before the package was laid out in subpackages.
"""

from .beneficiaries import *  # noqa: F401,F403
from .beneficiaries import __all__  # noqa: F401
