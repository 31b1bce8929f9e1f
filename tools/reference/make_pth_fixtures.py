#!/usr/bin/env python3
"""Fixtures for the .pth reader (src/io/torch_checkpoint.*): files written by torch.save itself, and
hostile pickles written byte by byte (never loaded here).

tests/golden/pth/
  zip.pth, legacy.pth, proto4.pth: one checkpoint in the zip format, the legacy stream format
      (_use_new_zipfile_serialization=False) and the zip format with pickle protocol 4. It holds fp32,
      bf16, fp16, int64 and bool tensors, a 0-d tensor, an empty tensor, an nn.Parameter, two views that
      share one storage (one with an offset, one transposed), a module state dict with torch's _metadata
      attribute, and plain values.
  expected.safetensors: every tensor of "state_dict" (contiguous, dtype kept) and of "state_dict_ema".
  hostile_*.pth, unsupported_newobj.pth: zip archives laid out as torch.save does whose data.pkl calls os.system / eval, nests a
      REDUCE, uses NEWOBJ, or hides os.system inside a tensor rebuild; legacy_hostile.pth does the same in
      the legacy stream's sys_info pickle. A reader that executed any of them would create MARKER.
"""
import collections
import os
import struct
import zipfile

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "golden", "pth")
MARKER = "/tmp/sv_pth_hostile_marker"


def checkpoint():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(3, 4, generator=g)
    sd = collections.OrderedDict()
    sd["a"] = a
    sd["a_tail"] = a[1:]          # offset view of a's storage
    sd["a_t"] = a.t()             # transposed (non-contiguous) view of the same storage
    sd["bf16"] = torch.randn(5, generator=g).to(torch.bfloat16)
    sd["f16"] = torch.randn(2, 3, generator=g).to(torch.float16)
    sd["i64"] = torch.tensor([1, -2, 3, 1 << 40])
    sd["mask"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    torch.manual_seed(1)
    ema = torch.nn.Sequential(torch.nn.Linear(3, 2)).state_dict()  # carries torch's _metadata attribute
    return {"state_dict": sd, "state_dict_ema": ema, "step": 7, "lr": 0.5, "name": "tiny",
            "flags": [True, None], "nested": {"k": (1, 2)}, "big": 1 << 70}


def expected(ck):
    out = {}
    for k, v in ck["state_dict"].items():
        out["state_dict/" + k] = v.detach().clone().contiguous()
    for k, v in ck["state_dict_ema"].items():
        out["state_dict_ema/" + k] = v.detach().clone().contiguous()
    return out


def proto2(body):
    return b"\x80\x02" + body + b"."


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def s(text):
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def write_zip(path, pkl):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


def hostile():
    cmd = "touch " + MARKER
    system = glob("posix", "system") + b"(" + s(cmd) + b"tR"
    cases = {
        "hostile_os_system.pth": proto2(b"}" + s("state_dict") + system + b"s"),
        "hostile_eval.pth": proto2(glob("builtins", "eval") + b"(" + s("__import__('os').system('" + cmd + "')")
                                   + b"tR"),
        # The callable of the outer REDUCE is itself the result of a REDUCE (an OrderedDict instance).
        "hostile_nested_reduce.pth": proto2(glob("collections", "OrderedDict") + b")R" + b"(" + s(cmd) + b"tR"),
        "unsupported_newobj.pth": proto2(glob("collections", "OrderedDict") + b")\x81"),
        # A legitimate-looking tensor rebuild whose storage argument is an os.system call.
        "hostile_in_tensor.pth": proto2(b"}" + s("w") + glob("torch._utils", "_rebuild_tensor_v2") + b"(" + system
                                        + b"K\x00K\x01\x85K\x01\x85\x89" + glob("collections", "OrderedDict")
                                        + b")RtRs"),
    }
    for name, pkl in cases.items():
        write_zip(os.path.join(OUT, name), pkl)
    magic = proto2(b"\x8a\x0a" + (0x1950a86a20f9469cfc6c).to_bytes(10, "little"))
    with open(os.path.join(OUT, "legacy_hostile.pth"), "wb") as f:
        f.write(magic + proto2(b"M\xe9\x03") + proto2(system) + proto2(b"}") + proto2(b"]"))


def main():
    os.makedirs(OUT, exist_ok=True)
    ck = checkpoint()
    torch.save(ck, os.path.join(OUT, "zip.pth"))
    torch.save(ck, os.path.join(OUT, "legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(ck, os.path.join(OUT, "proto4.pth"), pickle_protocol=4)
    save_file(expected(ck), os.path.join(OUT, "expected.safetensors"))
    hostile()
    # The reference itself refuses the hostile files without running them.
    for name in sorted(os.listdir(OUT)):
        if "hostile" in name:
            try:
                torch.load(os.path.join(OUT, name), weights_only=True)
                raise SystemExit(name + ": torch.load(weights_only=True) accepted it")
            except Exception:
                pass
    assert not os.path.exists(MARKER)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
