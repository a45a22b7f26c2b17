"""The main job. Until the models land: a small autograd demo."""
import numpy as np

import tinygrad_attn as ta
from tinygrad_attn import functions as F


def main():
    rng = np.random.default_rng(0)
    x = ta.Variable(rng.standard_normal((4, 3)), name="x")
    W = ta.Parameter(rng.standard_normal((3, 2)), name="W")
    y = F.tanh(x @ W).sum()
    y.backward()
    print("y =", y)
    print("dy/dW =", W.grad)
    print(ta.gradcheck(lambda a, w: F.tanh(a @ w), x.data, W.data).report())


if __name__ == "__main__":
    main()
