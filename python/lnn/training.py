"""Training and evaluation from Python (docs/python.md, "Training").

Glue only: the keys a user writes (a dict, keyword arguments, or the TOML
file of ``lnn train --config``) become lnn::TrainConfig's JSON, which the
library parses (TrainConfig::from_json) and completes as ``lnn train``
does; training, checkpoints, resume and evaluation are the library's.
"""
import contextlib as _contextlib
import json as _json
import os as _os
import tempfile as _tempfile

from ._lnn import (
    TrainConfig,
    TrainingRun,
    _evaluate_dataset,
    _evaluate_system,
    Dataset,
)

# `lnn train` option names (and TOML keys of --config) that differ from
# TrainConfig's JSON fields.
_ALIASES = {"out": "checkpoint", "param": "system_params", "adamw": "decoupled",
            "q_range": "box_q", "qdot_range": "box_qdot"}
# Keys that are no TrainConfig field: the precision of a fresh run (an
# argument of TrainingRun), and `embedding = "auto"` (the default).
_RUN_KEYS = {"precision"}
# The defaults of `lnn train` where they are not TrainConfig's own (which has
# no hidden widths and a constant schedule): a run configured here is the
# program's run (`lnn train --help` shows them; tests/python/test_training.py
# checks that the two runs are equal).
_CLI_DEFAULTS = {"hidden": [128, 128, 128], "schedule": "cosine"}
# `lnn train` options that only the command line has.
_CLI_ONLY = {"log", "resume", "force", "quiet", "config"}


def _fields():
    """TrainConfig's JSON fields (TrainConfig::to_json of the defaults) and checkpoint."""
    return set(_json.loads(TrainConfig._default_json())) | {"checkpoint"}


def _read_toml(path):
    try:
        import tomllib
    except ImportError as e:  # Python < 3.11
        raise ImportError("reading a TOML configuration needs Python 3.11 (tomllib)") from e
    with open(path, "rb") as f:
        data = tomllib.load(f)
    # An optional [train] section, as lnn train --config accepts.
    if set(data) == {"train"} and isinstance(data["train"], dict):
        data = data["train"]
    return data


def _normalise(key):
    key = str(key).replace("-", "_")
    return _ALIASES.get(key, key)


def _params(value):
    """system_params: a dict, or lnn train's NAME=VALUE strings (a list or one comma-separated)."""
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
    items = value.split(",") if isinstance(value, str) else list(value)
    out = {}
    for item in items:
        name, sep, number = str(item).partition("=")
        if not sep:
            raise ValueError(f"training configuration: param {item!r} is not NAME=VALUE")
        out[name.strip()] = float(number)
    return out


def _box(value):
    """box_q / box_qdot: [[LO, HI], ...], or lnn train's --q-range text "LO,HI[,LO,HI...]"."""
    if isinstance(value, str):
        numbers = [float(v) for v in value.split(",") if v.strip()]
        if len(numbers) % 2:
            raise ValueError(f"training configuration: range {value!r} is not LO,HI pairs")
        return [numbers[k:k + 2] for k in range(0, len(numbers), 2)]
    return [[float(lo), float(hi)] for lo, hi in value]


def _collect(config, fields):
    """The merged keys: `config` (None, a dict, a TOML path or a TrainConfig), then `fields`."""
    merged = {}
    if config is None:
        pass
    elif isinstance(config, TrainConfig):
        merged.update(_json.loads(config.to_json()))
        merged["checkpoint"] = config.checkpoint
    elif isinstance(config, dict):
        merged.update(config)
    elif isinstance(config, (str, _os.PathLike)):
        merged.update(_read_toml(config))
    else:
        raise TypeError("config must be a dict, a TOML file path or an lnn.TrainConfig, got "
                        f"{type(config).__name__}")
    merged.update(fields)
    return merged


def _split(config, fields):
    """(TrainConfig, precision or None) from the merged keys; unknown keys refused by name."""
    known = _fields()
    values, precision = dict(_CLI_DEFAULTS), None
    for key, value in _collect(config, fields).items():
        name = _normalise(key)
        if name in _RUN_KEYS:
            precision = str(value)
            continue
        if name in _CLI_ONLY:
            raise ValueError(f"training configuration: {key!r} is an option of the lnn program "
                             "only (use TrainingRun.resume for --resume)")
        if name not in known:
            raise ValueError(f"training configuration: unknown key {key!r} (known: "
                             f"{', '.join(sorted(known | _RUN_KEYS | set(_ALIASES)))})")
        if name == "system_params":
            value = _params(value)
        elif name in ("box_q", "box_qdot"):
            value = _box(value)
        elif name == "hidden" and isinstance(value, str):
            value = [int(v) for v in value.split(",") if v.strip()]
        elif name == "embedding" and not isinstance(value, str):
            value = ",".join(value)
        elif name in ("dataset", "checkpoint"):
            if isinstance(value, Dataset):
                raise TypeError(f"training configuration: {key} must be a file path; write the "
                                "lnn.Dataset with its save(path) first (lnn.train does that "
                                "for you)")
            value = _os.fspath(value)
        values[name] = value
    auto = values.get("embedding", "auto") == "auto"
    if auto:
        values.pop("embedding", None)
    checkpoint = values.pop("checkpoint", "")
    built = TrainConfig._complete(_json.dumps(values), auto, "n" in values)
    built.checkpoint = str(checkpoint) if checkpoint else ""
    return built, precision


def train_config(config=None, **fields):
    """An lnn.TrainConfig from a dict, a TOML file (lnn train --config's keys) or an existing
    TrainConfig, with `fields` (keyword arguments) overriding.

    Keys are lnn::TrainConfig's fields (docs/python.md lists them) or the `lnn train` option
    names for them (``out`` for checkpoint, ``param`` for system_params, ``adamw``, and
    ``mass-penalty`` style spellings); an unknown key is a ValueError naming it. n and the
    embedding ("auto": angles for periodic coordinates) follow from the system or dataset as
    in `lnn train`. A ``precision`` key is no TrainConfig field: train() uses it, and here it
    is left out (give it to TrainingRun).
    """
    return _split(config, fields)[0]


def train(config=None, *, callback=None, precision=None, **fields):
    """Trains a fresh model as `lnn train` does and returns (model, TrainResult).

    `config` and `fields` as train_config() (``precision`` may be among them, default f32);
    callback(progress: lnn.TrainProgress) runs after every step, and an exception it raises
    stops training and propagates. The checkpoint (``checkpoint``/``out``) is written every
    ``checkpoint_every`` steps and at the end; resume with TrainingRun.resume(path).run().

    ``dataset`` may be an lnn.Dataset (arrays in memory) instead of a file: the trainer reads
    files, so it is written first, beside the checkpoint as ``<checkpoint>.dataset.h5`` (which
    the checkpoint's configuration then names, for resuming), or without a checkpoint into a
    temporary directory removed afterwards.
    """
    merged = _collect(config, fields)
    with _contextlib.ExitStack() as stack:
        data = merged.get("dataset")
        if isinstance(data, Dataset):
            checkpoint = merged.get("checkpoint") or merged.get("out")
            if checkpoint:
                path = _os.fspath(checkpoint) + ".dataset.h5"
            else:
                path = _os.path.join(stack.enter_context(_tempfile.TemporaryDirectory()),
                                     "dataset.h5")
            data.save(path)
            merged["dataset"] = path
        built, given = _split(merged, {})
        if precision is None:
            precision = given or "f32"
        run = TrainingRun(built, precision)
        result = run.run(callback)
    return run.model, result


def evaluate(model, against, *, trajectories=None, t_end=100.0, rate=10.0, box_q=None,
             box_qdot=None, integrator="rk4", dt=0.01, rtol=1e-8, atol=1e-8, held_out=100000,
             seed=1, solver="lu"):
    """Judges `model` (an lnn.Model) as `lnn evaluate` does.

    Against a catalogue system (an lnn.System or its name): rollouts from `trajectories`
    (default 40) initial conditions to t_end, the energy error of the true system at t_end,
    and the acceleration error on `held_out` random states (lnn::evaluate).

    Against an lnn.Dataset (your own system's, or any): the acceleration error at its points,
    and for a trajectory set rollouts from each trajectory's first state over its times
    (the first `trajectories`; default all): the position error against the set's states and
    the drift of the model's own energy (lnn::evaluate_dataset). t_end, rate, box_q,
    box_qdot, held_out and seed do not apply.

    Returns a dict of the figures (summaries as dicts of mean, median, p90, max, count).
    """
    if isinstance(against, Dataset):
        return _evaluate_dataset(model, against, 0 if trajectories is None else trajectories,
                                 integrator, dt, rtol, atol, solver)
    return _evaluate_system(model, against, 40 if trajectories is None else trajectories, t_end,
                            rate, box_q, box_qdot, integrator, dt, rtol, atol, held_out, seed,
                            solver)
