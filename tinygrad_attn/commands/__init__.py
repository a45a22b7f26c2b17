"""Sub-commands of the ``tinygrad-attn`` console script (see :mod:`tinygrad_attn.cli`)."""


def open_checkpoint(load, path):
    """``load(path)``, with a missing file or a bad checkpoint turned into one CLIError line."""
    from ..cli import CLIError
    from ..io import CheckpointError

    try:
        return load(path)
    except FileNotFoundError as e:
        raise CLIError(f"checkpoint not found: {path}") from e
    except CheckpointError as e:
        raise CLIError(str(e)) from e
