#!/usr/bin/env python3
"""Golden runs of SANA-Video 2.0's samplers, from NVIDIA's sampler code itself, on a deterministic toy model.

References (pass their checkout root with --sana-src, as for make_sv2_goldens.py):
  diffusion/scheduler/dpm_solver.py + diffusion/model/dpm_solver.py: DPMS(model_type="flow", schedule="FLOW",
      classifier-free guidance) sampled with order 2, "time_uniform_flow", "multistep" (the 50-step release);
  diffusion/scheduler/flow_euler_sampler.py: LTXFlowEuler (image-to-video, clean conditioning frame 0);
  diffusion/scheduler/fastvideo_dmd_sampler.py: FastVideoDMD4Step (the 4-step preview).

The model is a fixed function the C++ test evaluates too:
    v = tanh(x) * (0.5 + 0.1 c) - x * (t / 1000),
with c = +1 for the conditional and -1 for the unconditional batch half (the "caption"), and t the model
timestep the sampler passes (per frame for LTXFlowEuler). Every call's timesteps are recorded.

tests/golden/sana_video2/samplers/<case>.safetensors: x_init, x_final, model_timesteps [calls, B or B*F].
Cases: dpm_50 (shift 12, CFG 8), dpm_5 (shift 12, CFG 8: only the first and last steps are first order),
dpm_7_nocfg (shift 6, guidance 1), ltx_euler_6 (shift 12, CFG 8, conditioning frame 0), dmd_4 (seeded
generator: the initial noise and the three transition draws come from one torch.Generator).
"""
import argparse
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from make_sv2_goldens import import_official  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "sana_video2", "samplers")


class ToyModel:
    def __init__(self):
        self.calls = []

    def __call__(self, x, t, y, **_):
        c = y.reshape(y.shape[0], -1)[:, 0]  # +1 cond, -1 uncond
        self.calls.append(t.detach().clone().reshape(-1))
        shape = [x.shape[0]] + [1] * (x.dim() - 1)
        if t.dim() == 3:  # per frame (B, 1, F)
            tt = t.reshape(x.shape[0], 1, -1, 1, 1)
        else:
            tt = t.reshape(shape)
        return torch.tanh(x) * (0.5 + 0.1 * c.reshape(shape)) - x * (tt / 1000)


def conds(B):
    return torch.ones(B, 1, 2, 3), -torch.ones(B, 1, 2, 3)


def save(name, x_init, x_final, calls):
    n = max(c.numel() for c in calls)
    ts = torch.stack([torch.nn.functional.pad(c.float(), (0, n - c.numel())) for c in calls])
    save_file({"x_init": x_init.contiguous(), "x_final": x_final.contiguous(), "model_timesteps": ts.contiguous()},
              os.path.join(OUT, name + ".safetensors"))
    print(name, tuple(x_final.shape), "calls", len(calls))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sana-src", required=True)
    a = ap.parse_args()
    import_official(a.sana_src)
    import importlib
    dpms = importlib.import_module("diffusion.scheduler.dpm_solver").DPMS
    ltx = importlib.import_module("diffusion.scheduler.flow_euler_sampler").LTXFlowEuler
    dmd = importlib.import_module("diffusion.scheduler.fastvideo_dmd_sampler").FastVideoDMD4Step
    os.makedirs(OUT, exist_ok=True)
    torch.set_grad_enabled(False)
    shape = (1, 4, 3, 4, 5)
    cond, uncond = conds(1)

    for name, steps, shift, cfg in [("dpm_50", 50, 12.0, 8.0), ("dpm_5", 5, 12.0, 8.0), ("dpm_7_nocfg", 7, 6.0, 1.0)]:
        x = torch.randn(shape, generator=torch.Generator().manual_seed(steps))
        m = ToyModel()
        solver = dpms(m, condition=cond, uncondition=uncond, cfg_scale=cfg, model_type="flow",
                      guidance_type="classifier-free", model_kwargs={}, schedule="FLOW")
        out = solver.sample(x.clone(), steps=steps, order=2, skip_type="time_uniform_flow", method="multistep",
                            flow_shift=shift)
        save(name, x, out, m.calls)

    # Image-to-video: frame 0 is the clean conditioning latent and must come back untouched.
    x = torch.randn(shape, generator=torch.Generator().manual_seed(77))
    m = ToyModel()
    sampler = ltx(m, condition=cond, uncondition=uncond, cfg_scale=8.0, flow_shift=12.0,
                  model_kwargs={"data_info": {"condition_frame_info": {0: 0.0}}})
    out = sampler.sample(x.clone(), steps=6, generator=None)
    assert torch.equal(out[:, :, 0], x[:, :, 0])
    save("ltx_euler_6", x, out, m.calls)

    g = torch.Generator().manual_seed(4)
    x = torch.randn(shape, generator=g)
    m = ToyModel()
    out = dmd(m, cond).sample(x.clone(), steps=4, generator=g)
    save("dmd_4", x, out, m.calls)


if __name__ == "__main__":
    main()
