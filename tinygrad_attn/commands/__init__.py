"""Sub-commands of the ``tinygrad-attn`` console script (see :mod:`tinygrad_attn.cli`)."""
