#!/usr/bin/env python3
"""Packaging helpers for scripts/gpu_check.sh (standard library only; runs on the build machine).

  pack.py stage   --build BUILD --pkg PKG [--no-strip] [--budget-mib 64] [--root ROOT]
      Copies the three binaries into PKG/stage/bin (stripped), the non-system shared libraries they
      need into PKG/stage/lib (libstdc++/libgcc_s into PKG/stage/lib/compat), builds stub FFmpeg
      libraries when FFmpeg's dependency tree does not fit the budget, and packs PKG/stage into
      PKG/carry/pkg.tar.xz (skipped when the inputs are unchanged). Writes PKG/carry/MANIFEST.json.
  pack.py size    --pkg PKG [--root ROOT] [--budget-mib 64]
      What the device tool would send: tracked + untracked-not-ignored files + PKG/carry. Exit 1 if
      over the budget.
  pack.py unpack  --pkg PKG --dest DIR       (also on the device machine: python3 stdlib only)
      Extracts PKG/carry/pkg.tar.xz into DIR and any wheel in PKG/carry/py into PKG/py.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile

MIB = 1 << 20
BINARIES = ("sana-video", "sv-bench", "sv-tests")
# glibc's own pieces: always the device's (mixing them with another glibc breaks the loader).
GLIBC = {"libc.so.6", "libm.so.6", "libmvec.so.1", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
         "libresolv.so.2", "libanl.so.1", "libnsl.so.1", "libBrokenLocale.so.1", "libnss_files.so.2",
         "libnss_dns.so.2", "libthread_db.so.1", "libc_malloc_debug.so.0", "linux-vdso.so.1"}
# The driver and the CUDA toolkit's libraries: huge, and they must match the device's driver.
DEVICE_RE = re.compile(r"^(ld-linux.*|libcuda\.so.*|libnvidia.*|libcublas(Lt)?\.so.*|libcudart\.so.*|libnvrtc.*|"
                       r"libnvJitLink.*|libcudnn.*|libnccl.*|libcufft.*|libcurand.*|libcusolver.*|libcusparse.*|"
                       r"libnvToolsExt.*)$")
FFMPEG_RE = re.compile(r"^lib(avformat|avcodec|avutil|swscale|swresample|avfilter|avdevice|postproc)\.so\.\d+$")
COMPAT = {"libstdc++.so.6", "libgcc_s.so.1"}  # used only where the device's own are older


def sh(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def needed(path):
    out = sh(["readelf", "-d", path])
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def ldd_map(path):
    """soname -> resolved path, as the loader here resolves it for `path` (RUNPATH included)."""
    m = {}
    for line in sh(["ldd", path]).splitlines():
        g = re.match(r"\s*(\S+) => (\S+)", line)
        if g and g.group(2) != "not":
            m[g.group(1)] = os.path.realpath(g.group(2))
    return m


def tree(roots):
    """Dependency closure below `roots` (sonames needed by the binaries), not entering excluded libs.
    Returns {soname: path} of kept libraries and {soname: path} of FFmpeg libraries met."""
    kept, ffmpeg, seen = {}, {}, set()
    todo = [(s, p) for s, p in roots.items()]
    while todo:
        so, path = todo.pop()
        if so in seen:
            continue
        seen.add(so)
        if so in GLIBC or DEVICE_RE.match(so):
            continue
        if FFMPEG_RE.match(so):
            ffmpeg[so] = path
            continue
        kept[so] = path
        resolved = ldd_map(path)
        for dep in needed(path):
            if dep in resolved:
                todo.append((dep, resolved[dep]))
    return kept, ffmpeg


def full_closure_size(paths):
    """Bytes of `paths` plus everything they load (excluding glibc and the device's libraries)."""
    allp = {}
    for p in paths:
        allp[os.path.basename(p)] = p
        for so, q in ldd_map(p).items():
            if so not in GLIBC and not DEVICE_RE.match(so):
                allp[so] = q
    return sum(os.path.getsize(q) for q in allp.values()), len(allp)


def write_stubs(binaries, ffmpeg, libdir, workdir):
    """Stub libraries with FFmpeg's sonames and symbol versions: every function the binaries import
    from them fails cleanly (NULL, or AVERROR(ENOSYS)), so the binaries load without FFmpeg's tree."""
    ver_of_file = {}   # LIBAVFORMAT_59 -> libavformat.so.59
    syms = {so: set() for so in ffmpeg}
    for b in binaries:
        cur = None
        for line in sh(["readelf", "-V", b]).splitlines():
            g = re.search(r"File: (\S+)", line)
            if g:
                cur = g.group(1)
                continue
            g = re.search(r"Name: (\S+)", line)
            if g and cur in ffmpeg:
                ver_of_file[g.group(1)] = cur
        for line in sh(["nm", "-D", "--undefined-only", b]).splitlines():
            g = re.match(r"\s*U (\S+)@(\S+)", line)
            if g and g.group(2) in ver_of_file:
                syms[ver_of_file[g.group(2)]].add((g.group(1), g.group(2)))
    made = {}
    for so, path in ffmpeg.items():
        # Data symbols (rare): give them the real object's size.
        data = {}
        for line in sh(["nm", "-D", "-S", "--defined-only", path]).splitlines():
            p = line.split()
            if len(p) == 4 and p[2] in "BDRVbdr":
                data[p[3].split("@")[0]] = int(p[1], 16)
        c = ['#include <stdio.h>', '#include <stddef.h>',
             'static void note(const char* f) { static int once; if (!once) { once = 1;',
             f'  fprintf(stderr, "sana-video GPU package: FFmpeg is not carried ({so} is a stub): %s() fails\\n", f); }} }}']
        versions = {}
        for name, ver in sorted(syms[so]):
            versions.setdefault(ver, []).append(name)
            if name in data:
                c.append(f"char {name}[{max(data[name], 1)}];")
            elif name == "av_strerror":
                c.append("int av_strerror(int e, char* buf, size_t n) { (void)e; note(\"av_strerror\"); "
                         "if (buf && n) snprintf(buf, n, \"FFmpeg is not in the GPU package (stub library)\"); return 0; }")
            elif re.search(r"(_alloc|_alloc_context3|^avcodec_find_\w+|_new_stream|^sws_get\w*Context|_dup|_clone)$", name):
                c.append(f"void* {name}(void) {{ note(\"{name}\"); return NULL; }}")
            else:
                c.append(f"int {name}(void) {{ note(\"{name}\"); return -38; }}")
        src = os.path.join(workdir, so + ".c")
        vmap = os.path.join(workdir, so + ".map")
        with open(src, "w") as f:
            f.write("\n".join(c) + "\n")
        with open(vmap, "w") as f:
            for ver, names in versions.items():
                f.write(ver + " { global: " + " ".join(n + ";" for n in names) + " local: *; };\n")
            if not versions:
                f.write("{ local: *; };\n")
        out = os.path.join(libdir, so)
        sh(["gcc", "-shared", "-fPIC", "-O1", "-w", "-o", out, src, f"-Wl,-soname,{so}", f"-Wl,--version-script={vmap}"])
        made[so] = sorted(n for n, _ in syms[so])
    return made


def tracked_size(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             check=True, capture_output=True).stdout.decode("utf-8", "surrogateescape").split("\0")
    except (OSError, subprocess.CalledProcessError):  # no git: everything but the usual ignored folders
        skip = {".git", ".gpu", "out", "__pycache__", ".whl", ".gl"}
        out = []
        for dp, dns, fs in os.walk(root):
            dns[:] = [d for d in dns if d not in skip and not d.startswith("build")]
            out += [os.path.relpath(os.path.join(dp, f), root) for f in fs]
    total, n = 0, 0
    for rel in set(out):
        if not rel:
            continue
        p = os.path.join(root, rel)
        if os.path.lexists(p) and not os.path.isdir(p):
            total += os.lstat(p).st_size
            n += 1
    shared = os.path.join(root, "shared")
    if os.path.isdir(shared) and not os.path.islink(shared):
        total += dir_size(shared)
    return total, n


def dir_size(d):
    total = 0
    for dp, _, fs in os.walk(d):
        for f in fs:
            total += os.lstat(os.path.join(dp, f)).st_size
    return total


def fingerprint(paths):
    h = hashlib.sha256()
    for p in sorted(paths):
        st = os.stat(p)
        h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def cmd_stage(a):
    pkg, build = os.path.abspath(a.pkg), os.path.abspath(a.build)
    stage, carry = os.path.join(pkg, "stage"), os.path.join(pkg, "carry")
    bins = [os.path.join(build, b) for b in BINARIES]
    for b in bins:
        if not os.access(b, os.X_OK):
            sys.exit(f"pack.py: {b} is missing: build first (bash scripts/setup.sh --build-dir {a.build})")
    roots = {}
    for b in bins:
        res = ldd_map(b)
        for so in needed(b):
            if so in res:
                roots[so] = res[so]
            elif not (so in GLIBC or DEVICE_RE.match(so)):
                sys.exit(f"pack.py: {b} needs {so}, which does not resolve here (ldd says 'not found')")
    kept, ffmpeg = tree(roots)
    cache = os.path.join(build, "CMakeCache.txt")
    cache_txt = open(cache).read() if os.path.exists(cache) else ""
    cuda = bool(re.search(r"^SV_CUDA:BOOL=ON$", cache_txt, re.M))
    g = re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", cache_txt, re.M)
    source_dir = g.group(1) if g else a.root  # the tests read SV_TEST_DATA=<source_dir>/tests/golden
    device_libs = sorted({so for b in bins for so in needed(b) if DEVICE_RE.match(so) and not so.startswith("ld-linux")})
    other = sum(os.path.getsize(p) for p in kept.values())
    ff_bytes, ff_n = full_closure_size(list(ffmpeg.values())) if ffmpeg else (0, 0)
    src_fp = fingerprint(bins + list(kept.values()) + list(ffmpeg.values()) + [os.path.abspath(__file__)])
    manifest_path = os.path.join(carry, "MANIFEST.json")
    old = {}
    if os.path.exists(manifest_path):
        try:
            old = json.load(open(manifest_path))
        except ValueError:
            old = {}
    pkg_tar = os.path.join(carry, "pkg.tar.xz")
    tracked, _ = tracked_size(a.root)
    # FFmpeg's tree goes in only if it fits, raw, beside the tracked tree, the rest and a 16 MiB reserve
    # (diffusers' wheel, scripts); xz would shrink it about 3x, but measuring that costs a minute+.
    ffmpeg_real = bool(ffmpeg) and tracked + other + ff_bytes + 16 * MIB <= a.budget_mib * MIB
    if old.get("fingerprint") == src_fp and old.get("strip") == (not a.no_strip) and os.path.exists(pkg_tar) \
            and os.path.isdir(stage):
        print(f"pack: package up to date ({os.path.getsize(pkg_tar) / MIB:.1f} MiB, fingerprint {src_fp})")
        return
    shutil.rmtree(stage, ignore_errors=True)
    os.makedirs(os.path.join(stage, "bin"))
    os.makedirs(os.path.join(stage, "lib", "compat"))
    os.makedirs(carry, exist_ok=True)
    for b in bins:
        dst = os.path.join(stage, "bin", os.path.basename(b))
        if a.no_strip:
            shutil.copy2(b, dst)
        else:
            sh(["strip", "-o", dst, b])
    libs = {}
    for so, p in sorted(kept.items()):
        dst = os.path.join(stage, "lib", "compat" if so in COMPAT else "", so)
        shutil.copyfile(p, dst)
        os.chmod(dst, 0o755)
        libs[so] = {"from": p, "bytes": os.path.getsize(p), "compat": so in COMPAT}
    stubs = {}
    if ffmpeg and ffmpeg_real:
        for so, p in ffmpeg.items():
            for dep, q in [(so, p)] + [x for x in ldd_map(p).items() if x[0] not in GLIBC and not DEVICE_RE.match(x[0])]:
                if dep in kept:
                    continue
                dst = os.path.join(stage, "lib", "compat" if dep in COMPAT else "", dep)
                if not os.path.exists(dst):
                    shutil.copyfile(q, dst)
                    libs[dep] = {"from": q, "bytes": os.path.getsize(q), "ffmpeg_tree": True}
    elif ffmpeg:
        with tempfile.TemporaryDirectory() as tmp:
            stubs = write_stubs(bins, ffmpeg, os.path.join(stage, "lib"), tmp)
    t0 = time.time()
    tmp_tar = pkg_tar + ".tmp"
    with open(tmp_tar, "wb") as f:
        tar = subprocess.Popen(["tar", "-C", stage, "-cf", "-", "bin", "lib"], stdout=subprocess.PIPE)
        subprocess.run(["xz", "-T0", "-6", "-c"], stdin=tar.stdout, stdout=f, check=True)
        if tar.wait() != 0:
            sys.exit("pack.py: tar failed")
    os.replace(tmp_tar, pkg_tar)
    glibc_req = "?"
    try:
        vers = set()
        for dp, _, fs in os.walk(stage):
            for fn in fs:
                vers.update(re.findall(r"GLIBC_(\d+\.\d+)", sh(["objdump", "-T", os.path.join(dp, fn)])))
        glibc_req = max(vers, key=lambda v: tuple(map(int, v.split(".")))) if vers else "?"
    except subprocess.CalledProcessError:
        pass
    try:
        head = sh(["git", "-C", a.root, "rev-parse", "--short", "HEAD"]).strip()
        dirty = bool(sh(["git", "-C", a.root, "status", "--porcelain", "--untracked-files=no"]).strip())
    except (subprocess.CalledProcessError, FileNotFoundError):
        head, dirty = "?", None
    man = {
        "fingerprint": src_fp, "strip": not a.no_strip, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_head": head, "git_dirty": dirty, "build_dir": build, "source_dir": source_dir, "sv_cuda": cuda,
        "device_libs": device_libs,
        "built_on": sh(["ldd", "--version"]).splitlines()[0], "needs_glibc": glibc_req,
        "binaries": {os.path.basename(b): os.path.getsize(os.path.join(stage, "bin", os.path.basename(b))) for b in bins},
        "libs": libs, "libs_bytes": sum(v["bytes"] for v in libs.values()),
        "ffmpeg": {"needed": sorted(ffmpeg), "tree_libs": ff_n, "tree_bytes": ff_bytes,
                   "carried": bool(ffmpeg_real), "stubs": stubs,
                   "note": ("" if ffmpeg_real or not ffmpeg else
                            f"FFmpeg's dependency tree ({ff_n} libraries, {ff_bytes / MIB:.0f} MiB) does not fit the "
                            f"{a.budget_mib} MiB transfer budget: stub libraries stand in (each call fails cleanly). On the "
                            "device, image decoding through FFmpeg (sv-tests Files/ImageGolden.*, Image.CoverCropKeepsAspect, "
                            "image-to-video inputs) and video/GIF/WebP writing (`sana-video generate -o X.mp4`, "
                            "`run vae-decode --video`) cannot run; every *Cuda* test and sv-bench can.")},
        "pkg_tar_bytes": os.path.getsize(pkg_tar), "xz_s": round(time.time() - t0, 1),
        "excluded": "glibc (libc, libm, libmvec, ...), ld-linux, libcuda/libnvidia*, CUDA toolkit libraries "
                    "(libcublas, libcublasLt, libcudart, ...): the device's own",
    }
    with open(manifest_path, "w") as f:
        json.dump(man, f, indent=1)
    print(f"pack: binaries {sum(man['binaries'].values()) / MIB:.1f} MiB ({'stripped' if man['strip'] else 'unstripped'}), "
          f"libraries {man['libs_bytes'] / MIB:.1f} MiB ({len(libs)}: {', '.join(sorted(libs))})")
    if ffmpeg:
        print(f"pack: FFmpeg tree {ff_n} libraries {ff_bytes / MIB:.1f} MiB raw -> "
              + ("carried" if ffmpeg_real else f"NOT carried (over budget); stubs for {', '.join(sorted(stubs))}"))
    if not cuda:
        print("pack: WARNING: this build has SV_CUDA off (or no CMakeCache.txt): the package has no CUDA backend")
    print(f"pack: pkg.tar.xz {man['pkg_tar_bytes'] / MIB:.1f} MiB (xz {man['xz_s']} s), needs glibc >= {glibc_req}")


def cmd_size(a):
    carry = os.path.join(os.path.abspath(a.pkg), "carry")
    tracked, n = tracked_size(a.root)
    parts = {}
    if os.path.isdir(carry):
        for e in sorted(os.listdir(carry)):
            p = os.path.join(carry, e)
            parts[e] = dir_size(p) if os.path.isdir(p) else os.path.getsize(p)
    total = tracked + sum(parts.values())
    print(f"size: tracked + untracked-not-ignored tree  {tracked / MIB:7.2f} MiB ({n} files)")
    for k, v in parts.items():
        print(f"size: carry/{k:<34s} {v / MIB:7.2f} MiB")
    print(f"size: TOTAL that travels                    {total / MIB:7.2f} MiB of {a.budget_mib} MiB "
          f"({(a.budget_mib * MIB - total) / MIB:.2f} MiB left)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"tree_bytes": tracked, "carry": parts, "total_bytes": total, "budget_bytes": a.budget_mib * MIB}, f,
                      indent=1)
    if total > a.budget_mib * MIB:
        print(f"size: FAIL: over the {a.budget_mib} MiB the device tool sends", file=sys.stderr)
        sys.exit(1)


def cmd_unpack(a):
    pkg = os.path.abspath(a.pkg)
    carry = os.path.join(pkg, "carry")
    tarp = os.path.join(carry, "pkg.tar.xz")
    if not os.path.exists(tarp):
        sys.exit(f"pack.py: {tarp} is missing: run scripts/gpu_check.sh here first and carry {os.path.relpath(carry)}")
    shutil.rmtree(a.dest, ignore_errors=True)
    os.makedirs(a.dest)
    with tarfile.open(tarp, "r:xz") as t:
        try:
            t.extractall(a.dest, filter="tar")
        except TypeError:  # Python < 3.12 without extraction filters
            t.extractall(a.dest)
    pyd = os.path.join(pkg, "py")
    wheels = sorted(f for f in os.listdir(os.path.join(carry, "py")) if f.endswith(".whl")) \
        if os.path.isdir(os.path.join(carry, "py")) else []
    stamp = os.path.join(pyd, ".from")
    if wheels and not (os.path.exists(stamp) and open(stamp).read() == " ".join(wheels)):
        shutil.rmtree(pyd, ignore_errors=True)
        os.makedirs(pyd)
        for w in wheels:
            with zipfile.ZipFile(os.path.join(carry, "py", w)) as z:
                z.extractall(pyd)
        with open(stamp, "w") as f:
            f.write(" ".join(wheels))
    print(f"unpack: {tarp} -> {a.dest}" + (f"; {', '.join(wheels)} -> {pyd}" if wheels else "; no Python wheels carried"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    s = sub.add_parser("stage")
    s.add_argument("--build", required=True)
    s.add_argument("--pkg", required=True)
    s.add_argument("--no-strip", action="store_true")
    s.add_argument("--budget-mib", type=int, default=64)
    s.add_argument("--root", default=root)
    z = sub.add_parser("size")
    z.add_argument("--pkg", required=True)
    z.add_argument("--budget-mib", type=int, default=64)
    z.add_argument("--root", default=root)
    z.add_argument("--json")
    u = sub.add_parser("unpack")
    u.add_argument("--pkg", required=True)
    u.add_argument("--dest", required=True)
    a = ap.parse_args()
    {"stage": cmd_stage, "size": cmd_size, "unpack": cmd_unpack}[a.cmd](a)


if __name__ == "__main__":
    main()
