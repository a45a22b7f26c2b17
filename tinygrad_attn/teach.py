"""Former name of :mod:`tinygrad_attn.lessons.hand_derived`, kept so that old imports work."""
from .lessons.hand_derived import *  # noqa: F401,F403
from .lessons.hand_derived import __all__  # noqa: F401
