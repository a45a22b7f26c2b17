"""Every layer case with one argument replaced by a 0-d array gives a result or one clear
OpError naming the layer and the shapes — never an internal IndexError."""
import numpy as np
import pytest

import tinygrad_attn as ta
from tinygrad_attn.checks.layercases import LAYER_CASES


@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: c.id)
def test_a_0d_argument_gives_a_result_or_one_clear_op_error(case):
    arrays = case.arrays()
    for i, a in enumerate(arrays):
        if a is None:
            continue
        args = list(arrays)
        kind = getattr(a, "dtype", np.dtype(float)).kind
        args[i] = np.array(0) if kind in "iu" else np.array(True) if kind == "b" else np.array(0.5)
        try:
            case.make()(*args)
        except ta.OpError as e:
            msg = str(e)
            assert "\n" not in msg and "()" in msg, (case.id, i, msg)


def test_positional_encoding_names_the_shape_it_needs():
    from tinygrad_attn import layers as L

    with pytest.raises(ta.OpError, match=r"PositionalEncoding: expected x of shape \(N, T, 4\), "
                                         r"got \(3, 4\)"):
        L.PositionalEncoding(4)(ta.Variable(np.zeros((3, 4))))
