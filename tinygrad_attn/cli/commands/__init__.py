"""The sub-commands of ``tinygrad-attn``, one module each (``add_parser(sub)`` and ``run(args)``).

They import :mod:`tinygrad_attn.cli.common` and :mod:`tinygrad_attn.cli.values` for what they
share, and never each other (an import-linter independence contract says so).
"""
