import numpy as np

import functorch_lite as fl
import functorch_lite.numpy as fnp


def test_grad_sin_closed_form():
    x = np.array([0.1, 1.0, 2.0], np.float32)
    g = fl.grad(lambda x: fnp.sum(fnp.sin(x)))(x)
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-6)
