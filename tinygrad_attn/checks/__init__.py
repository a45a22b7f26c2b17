"""Checks: numerical gradient checks, the op and layer case tables, gradient flow, the lessons.

* :mod:`~tinygrad_attn.checks.gradcheck` — ``gradcheck``, ``gradgradcheck``, ``check_layer``,
  ``check_model`` (re-exported as ``ta.gradcheck`` ...);
* :mod:`~tinygrad_attn.checks.opcases`, :mod:`~tinygrad_attn.checks.layercases` — one table of
  cases each, used by the test suite and by ``tinygrad-attn gradcheck``;
* :mod:`~tinygrad_attn.checks.gradflow` — gradient norms per parameter (``ta.gradflow``);
* :mod:`~tinygrad_attn.checks.report` — the tables and number formats every check prints;
* :mod:`~tinygrad_attn.checks.lessons` — code written to teach (hand-derived backward passes,
  the skip-connection demo), loaded on first use.

This floor sits above the layers and below training; it imports neither the pictures
(:mod:`tinygrad_attn.viz` draws what the checks compute) nor the data.
"""
