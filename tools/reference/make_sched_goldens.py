#!/usr/bin/env python3
"""Golden data for the flow schedulers: diffusers' DPMSolverMultistepScheduler (SANA-Video's flow
configuration) and FlowMatchEulerDiscreteScheduler, fed fixed model outputs. Per case: timesteps,
sigmas, and the sample after every step. Writes tests/golden/sched/<case>.safetensors and the
scheduler_config.json that save_config writes (the DPM one holds the non-standard -Infinity literal).
"""
import json
import os

import torch
from diffusers import DPMSolverMultistepScheduler, FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "sched")


def run(sched, n, seed, name, shape=(1, 4, 3, 5, 6)):
    sched.set_timesteps(n)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g)
    out = {"timesteps": sched.timesteps.clone(), "sigmas": sched.sigmas.clone(), "sample_0": x.clone()}
    for i, t in enumerate(sched.timesteps):
        v = torch.randn(shape, generator=g) * 0.7 + 0.1 * x
        out[f"model_output_{i}"] = v
        x = sched.step(v, t, x, return_dict=False)[0]
        out[f"sample_{i + 1}"] = x.clone()
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, name + ".safetensors"))
    print(name, [round(float(t), 3) for t in sched.timesteps[:4]], "...", float(sched.timesteps[-1]))


def main():
    os.makedirs(OUT, exist_ok=True)
    dpm = lambda shift: DPMSolverMultistepScheduler(flow_shift=shift, use_flow_sigmas=True,
                                                     prediction_type="flow_prediction")
    for n in (2, 4, 20, 50):
        run(dpm(8.0), n, n, f"dpm_shift8_n{n}")
    run(dpm(3.0), 12, 7, "dpm_shift3_n12")
    dpm(8.0).save_config(os.path.join(OUT, "dpm_config"))
    unipc = lambda shift: UniPCMultistepScheduler(flow_shift=shift, use_flow_sigmas=True, prediction_type="flow_prediction")
    for n in (1, 2, 3, 8, 50):
        run(unipc(8.0), n, n + 200, f"unipc_shift8_n{n}")
    run(unipc(3.0), 10, 9, "unipc_shift3_n10")
    unipc(8.0).save_config(os.path.join(OUT, "unipc_config"))
    for shift, n in ((8.0, 5), (8.0, 50), (1.0, 7)):
        run(FlowMatchEulerDiscreteScheduler(shift=shift), n, n + 100, f"euler_shift{int(shift)}_n{n}")
    FlowMatchEulerDiscreteScheduler(shift=8.0).save_config(os.path.join(OUT, "euler_config"))


if __name__ == "__main__":
    main()
