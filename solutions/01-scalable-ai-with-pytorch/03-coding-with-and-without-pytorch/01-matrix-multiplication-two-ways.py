# Two 16x16 pixel matrices, as tensors and as lists
a, b = x[0, 0, :16, :16], x[1, 0, :16, :16]
A, B = a.tolist(), b.tolist()
# Plain Python: C[i][j] sums A[i][k] * B[k][j] over k
start = time.perf_counter()
C_loops = [[sum(A[i][k] * B[k][j] for k in range(16)) for j in range(16)]
           for i in range(16)]
loop_ms = (time.perf_counter() - start) * 1000
# PyTorch: one call, in optimised native code
start = time.perf_counter()
C_torch = torch.matmul(a, b)
torch_ms = (time.perf_counter() - start) * 1000
# The same numbers, computed two ways
same = torch.allclose(torch.tensor(C_loops), C_torch, atol=1e-4)
print(f"loops {loop_ms:.2f} ms, torch {torch_ms:.3f} ms, same: {same}")
