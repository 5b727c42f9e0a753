"""What scripts/plot_loss.py and scripts/plot_sweep.py share: the system a
file belongs to, its coordinates' names and units, and legends that hide no
data. Installed beside them (<prefix>/share/lnn).

Units: the catalogue's parameters are SI values (g = 9.8 m/s², lengths in m,
masses in kg; `lnn systems`), so time is in s, angle coordinates in rad and
the others in m.
"""
import glob
import json
import os
import shutil
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def lnn_programs():
    """Candidates for the `lnn` program, most specific first: $LNN_PROGRAM, the
    `lnn` that started this script (`lnn sweep` does), the installed one next
    to this script (<prefix>/bin/lnn), `lnn` on PATH, then in a source tree
    the newest build directory's (any build knows the catalogue)."""
    out = []
    if os.environ.get("LNN_PROGRAM"):
        out.append(os.environ["LNN_PROGRAM"])
    try:
        parent = os.readlink(f"/proc/{os.getppid()}/exe")
        if os.path.basename(parent) == "lnn":
            out.append(parent)
    except OSError:
        pass
    out.append(os.path.join(HERE, "..", "..", "bin", "lnn"))
    if shutil.which("lnn"):
        out.append(shutil.which("lnn"))
    out += sorted(glob.glob(os.path.join(HERE, "..", "build*", "lnn")), key=os.path.getmtime,
                  reverse=True)
    return [p for p in dict.fromkeys(out) if os.path.isfile(p) and os.access(p, os.X_OK)]


def system_info(name):
    """The catalogue entry of a system (`lnn systems --json NAME`: name,
    coordinates, angles, …), or None when no lnn program knows it."""
    if not name:
        return None
    for program in lnn_programs():
        try:
            r = subprocess.run([program, "systems", "--json", name], capture_output=True,
                               text=True, timeout=60)
            entries = json.loads(r.stdout) if r.returncode == 0 else []
        except (OSError, ValueError, subprocess.SubprocessError):
            continue
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, dict) and e.get("name") == name and e.get("coordinates"):
                return e
    return None


def model_training(path):
    """The training configuration stored in a checkpoint (`lnn.train.config`,
    docs/file-formats.md) as a dict; {} for a file without one."""
    try:
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
        return json.loads(header.get("__metadata__", {}).get("lnn.train.config", "{}"))
    except (OSError, ValueError, struct.error, AttributeError):
        return {}


class Coordinates:
    """Names and units of a system's n coordinates. Without the catalogue
    entry: the names given (e.g. a table's columns) or q1 … qn, in SI units
    of unknown kind."""

    def __init__(self, info=None, n=None, names=None):
        if info:
            self.names = list(info["coordinates"])
            self.units = ["rad" if a else "m" for a in info.get("angles", [0] * len(self.names))]
        else:
            self.names = list(names) if names else [f"q{i + 1}" for i in range(n or 0)]
            self.units = [None] * len(self.names)

    def label(self, j, derivative=""):
        """'theta (rad)'; derivative "dot" gives 'thetadot (rad/s)'."""
        unit = self.units[j]
        if derivative == "dot":
            return f"{self.names[j]}dot ({unit}/s)" if unit else f"{self.names[j]}dot (SI units)"
        return f"{self.names[j]} ({unit})" if unit else f"{self.names[j]} (SI units)"

    def unit_list(self, suffix=""):
        """The distinct units, each with suffix: 'm/s², rad/s²'."""
        units = [u for u in dict.fromkeys(self.units) if u]
        if not units:
            return f"SI units of q{suffix}"
        return ", ".join(u + suffix for u in units)

    def describe(self):
        return ", ".join(self.names)


def legend_outside(ax, **kwargs):
    """A legend right of the axes, where it covers no line; save the figure
    with bbox_inches="tight" so that it is kept."""
    options = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=7)
    options.update(kwargs)
    return ax.legend(**options)
