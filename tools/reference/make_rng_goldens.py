#!/usr/bin/env python3
"""Golden torch.randn draws for the engine's TorchGenerator: several seeds and shapes (below and above
the 16-element vectorised threshold, latent-like shapes, consecutive draws from one generator).

torch's float kernel depends on the CPU capability ATen dispatches to, so this writes two files:
avx2.safetensors (ATEN_CPU_CAPABILITY=avx2) and default.safetensors (ATEN_CPU_CAPABILITY=default,
the scalar loop that AVX-512 machines also run). Each child process runs with its own capability.
"""
import os
import subprocess
import sys

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "rng")

CHILD = r"""
import sys, torch
from safetensors.torch import save_file
cases = {}
for seed in (0, 42, 2**40 + 7):
    for shape in ((3,), (15,), (16,), (17,), (1, 16, 5, 8, 8), (2, 16, 3, 5, 7)):
        g = torch.Generator().manual_seed(seed)
        name = f"s{seed}_" + "x".join(map(str, shape))
        cases[name] = torch.randn(shape, generator=g)
        cases[name + "_then5"] = torch.randn(5, generator=g)   # the stream (and cached sample) continues
save_file(cases, sys.argv[1])
print(torch.backends.cpu.get_cpu_capability())
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    for cap in ("avx2", "default"):
        env = dict(os.environ, ATEN_CPU_CAPABILITY=cap)
        r = subprocess.run([sys.executable, "-c", CHILD, os.path.join(OUT, cap + ".safetensors")], env=env,
                           check=True, capture_output=True, text=True)
        print(cap, "->", r.stdout.strip())


if __name__ == "__main__":
    main()
