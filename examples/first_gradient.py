"""A first gradient, a first gradcheck: the smallest tour of minigrad."""
import numpy as np

import minigrad as mg

x = mg.tensor([0.5, -1.0, 2.0], requires_grad=True, name="x")
w = mg.tensor([1.0, 2.0, 3.0], requires_grad=True, name="w")
y = (x * w).tanh().sum()
y.backward()
print("y        =", y.item())
print("dy/dx    =", x.grad, " (closed form w * (1 - tanh(x*w)^2):", w.data * (1 - np.tanh(x.data * w.data) ** 2), ")")

x64 = mg.tensor(x.data, dtype=np.float64, requires_grad=True)
ok = mg.gradcheck(lambda x: (x * w.data.astype(np.float64)).tanh(), (x64,))
print("gradcheck:", "passed" if ok else "FAILED")
