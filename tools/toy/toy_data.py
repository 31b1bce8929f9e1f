"""The toy world: one shape of one colour moving across a plain background, and how to read it back.

render_clip draws the training clips; analyse is the functional check (which colour, which way the
centroid moved) that tests/test_toy_model.cpp re-implements in C++ with the same thresholds.
"""
import numpy as np

FRAMES, SIZE, SUPER = 17, 32, 4
BACKGROUND = (26, 26, 30)
COLOURS = {"red": (230, 40, 40), "green": (40, 200, 60), "blue": (50, 90, 240), "yellow": (240, 215, 40)}
SHAPES = ("circle", "square", "triangle")
DIRECTIONS = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}


def caption(colour, shape, direction):
    return f"a {colour} {shape} moving {direction}"


def sample_params(rng, direction):
    """Half-size r (px), speed (px/frame) and a start centre that keeps the whole path inside the frame."""
    r = float(rng.uniform(3.5, 5.0))
    speed = float(rng.uniform(0.7, 1.0))
    travel = speed * (FRAMES - 1)
    dx, dy = DIRECTIONS[direction]
    lo, hi = r + 1.0, SIZE - 1.0 - r

    def along(sign):
        start_lo, start_hi = (lo, hi - travel) if sign > 0 else (lo + travel, hi)
        return float(rng.uniform(start_lo, start_hi))

    cx = along(dx) if dx else float(rng.uniform(lo, hi))
    cy = along(dy) if dy else float(rng.uniform(lo, hi))
    return dict(r=r, speed=speed, cx=cx, cy=cy)


def _mask(shape, cx, cy, r, n):
    # Sample centres of an n x n supersampled grid in pixel units.
    c = (np.arange(n) + 0.5) / SUPER
    y, x = np.meshgrid(c, c, indexing="ij")
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    if shape == "square":
        return (np.abs(x - cx) <= r) & (np.abs(y - cy) <= r)
    # Upward triangle with its centroid at (cx, cy), circumradius ~1.25 r.
    R = 1.25 * r
    top, base = cy - R, cy + 0.5 * R
    half = (y - top) / (1.5 * R) * (R * np.sqrt(3) / 2)
    return (y >= top) & (y <= base) & (np.abs(x - cx) <= half)


def render_clip(colour, shape, direction, r, speed, cx, cy):
    dx, dy = DIRECTIONS[direction]
    n = SIZE * SUPER
    out = np.empty((FRAMES, SIZE, SIZE, 3), np.uint8)
    bg = np.array(BACKGROUND, np.float32)
    fg = np.array(COLOURS[colour], np.float32)
    for f in range(FRAMES):
        m = _mask(shape, cx + dx * speed * f, cy + dy * speed * f, r, n).astype(np.float32)
        cov = m.reshape(SIZE, SUPER, SIZE, SUPER).mean(axis=(1, 3))[..., None]
        out[f] = np.clip(np.rint(bg + (fg - bg) * cov), 0, 255).astype(np.uint8)
    return out


def analyse(frames_u8):
    """frames [F,H,W,3] uint8 -> (colour name or None, (dx, dy) centroid shift first->last in px)."""
    bg = np.array(BACKGROUND, np.float32)
    f = frames_u8.astype(np.float32)
    obj = np.abs(f - bg).sum(-1) > 120  # far from the background
    cents = []
    for i in (0, 1, 2, -3, -2, -1):
        ys, xs = np.nonzero(obj[i])
        if len(xs) < 4:
            return None, (0.0, 0.0)
        cents.append((xs.mean(), ys.mean()))
    c0 = np.mean(cents[:3], axis=0)
    c1 = np.mean(cents[3:], axis=0)
    mean = f[obj].mean(0)
    colour = min(COLOURS, key=lambda k: np.sum((np.array(COLOURS[k], np.float32) - mean) ** 2))
    return colour, (float(c1[0] - c0[0]), float(c1[1] - c0[1]))


def matches(colour, direction, got_colour, shift):
    if got_colour != colour:
        return False
    dx, dy = DIRECTIONS[direction]
    along = shift[0] * dx + shift[1] * dy
    across = abs(shift[0] * dy) + abs(shift[1] * dx)
    return along >= SIZE / 8 and along > 2.0 * across
