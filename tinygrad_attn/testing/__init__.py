"""Tools for testing code written on tinygrad_attn (not used by the framework itself).

* :mod:`~tinygrad_attn.testing.strict` — the *strict* stand-in device: an array type that
  refuses every implicit conversion to NumPy, so a test on ``device="strict"`` proves that
  op code asks its data for the array module (the rule that lets CuPy arrays flow through).
  Importing it registers the device ``"strict"`` with :mod:`tinygrad_attn.backend`.
"""
