"""What the CPU comparison scripts share: each engine in its own process, printing one JSON line; the
engines alternating round by round in the same run on the same machine; the round whose median time is
the median reported, with every round's median kept beside it."""
import json
import subprocess


def run_json(cmd, env=None):
    """Runs cmd (raising on a non-zero exit) and returns the JSON object on its last stdout line."""
    r = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(r.stdout.strip().splitlines()[-1])


def alternate(rounds, cmds, env=None):
    """{name: [result per round]}: each named command once per round, in the order given."""
    out = {name: [] for name in cmds}
    for _ in range(rounds):
        for name, cmd in cmds.items():
            out[name].append(run_json(cmd, env))
    return out


def median_round(runs, key="median_s"):
    """The run whose `key` is the median over the rounds, with every round's value as round_medians_s."""
    best = dict(sorted(runs, key=lambda r: r[key])[len(runs) // 2])
    best["round_medians_s"] = [r[key] for r in runs]
    return best
