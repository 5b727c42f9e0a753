"""lnn.ModelSpec and lnn.Model (AnyModel): construction as `lnn init`, files,
the parameters as a view of the model's memory."""
import gc

import numpy as np
import pytest

import lnn


def test_spec_fields():
    spec = lnn.ModelSpec(3, [8, 4], activation="tanh", embedding=["angle", "plain", "angle"])
    assert spec.n == 3 and spec.hidden == [8, 4] and spec.activation == "tanh"
    assert spec.embedding == ["angle", "plain", "angle"]
    assert spec.input_width == 3 + 2 + 1 + 2
    assert spec.parameter_count == 8 * 8 + 8 + 4 * 8 + 4 + 4 + 1
    assert lnn.ModelSpec(2, [5], embedding="angle").embedding == ["angle", "angle"]
    assert lnn.ModelSpec(2, [5]) == lnn.ModelSpec(2, [5], "softplus", ["plain", "plain"])
    assert "hidden=[8, 4]" in repr(spec)


def test_spec_errors_carry_the_library_messages():
    with pytest.raises(lnn.InvalidArgument, match="relu"):
        lnn.ModelSpec(2, [8], activation="relu")
    with pytest.raises(ValueError, match="embedding"):
        lnn.ModelSpec(2, [8], embedding="spherical")
    with pytest.raises(ValueError):
        lnn.ModelSpec(2, [])
    with pytest.raises(ValueError):
        lnn.ModelSpec(2, [8], embedding=["angle"])  # one per coordinate


@pytest.mark.parametrize("precision", ["f32", "f64"])
def test_model_equals_lnn_init(cli, tmp_path, precision):
    """Model(..., init, seed) draws exactly the parameters `lnn init` writes."""
    path = tmp_path / "init.safetensors"
    cli.run("init", "--out", path, "--n", 2, "--hidden", "16,8", "--activation", "gelu",
            "--embedding", "angle,plain", "--init", "xavier", "--seed", 7, "--precision", precision)
    from_cli = lnn.Model.load(str(path))
    ours = lnn.Model(n=2, hidden=[16, 8], activation="gelu", embedding=["angle", "plain"],
                     init="xavier", seed=7, precision=precision)
    assert from_cli.precision == ours.precision == precision
    assert from_cli.spec == ours.spec
    assert ours.parameters.dtype == (np.float32 if precision == "f32" else np.float64)
    np.testing.assert_array_equal(from_cli.parameters, ours.parameters)


def test_save_load_round_trip(tmp_path):
    model = lnn.Model(lnn.ModelSpec(2, [6, 6]), precision="f64", init="he", seed=3)
    path = tmp_path / "m.safetensors"  # a str or any os.PathLike
    model.save(path, {"note": "from python"})
    back = lnn.Model.load(path)
    np.testing.assert_array_equal(lnn.Model.load(str(path)).parameters, back.parameters)
    assert back.precision == "f64" and back.spec == model.spec
    np.testing.assert_array_equal(back.parameters, model.parameters)


def test_zero_and_reinitialized_models():
    model = lnn.Model(n=1, hidden=[4], init=None, precision="f64")
    assert not model.parameters.any()
    model.initialize("lnn", 5)
    assert model.parameters.any()
    np.testing.assert_array_equal(model.parameters,
                                  lnn.Model(n=1, hidden=[4], seed=5, precision="f64").parameters)


def test_to_other_precision():
    model = lnn.Model(n=2, hidden=[8], seed=1, precision="f32")
    wide = model.to("f64")
    assert wide.precision == "f64"
    np.testing.assert_array_equal(wide.parameters, model.parameters.astype(np.float64))


def test_parameters_are_a_view_of_the_model():
    model = lnn.Model(n=2, hidden=[8], seed=1, precision="f64")
    p = model.parameters
    q = model.parameters
    address = p.__array_interface__["data"][0]
    assert q.__array_interface__["data"][0] == address  # the same memory every time
    assert p.flags.writeable and p.flags.c_contiguous and not p.flags.owndata
    assert p.shape == (model.parameter_count,)
    p[:] = 0.25  # written through the view: the model itself changes
    assert (model.parameters == 0.25).all()


def test_written_parameters_reach_the_file(tmp_path):
    model = lnn.Model(n=2, hidden=[8], seed=1, precision="f32")
    model.parameters[:] = np.arange(model.parameter_count, dtype=np.float32) / 100
    path = str(tmp_path / "m.safetensors")
    model.save(path)
    np.testing.assert_array_equal(lnn.Model.load(path).parameters, model.parameters)


def test_view_keeps_the_model_alive():
    view = lnn.Model(n=2, hidden=[8], seed=1, precision="f64").parameters
    gc.collect()
    expected = lnn.Model(n=2, hidden=[8], seed=1, precision="f64").parameters
    np.testing.assert_array_equal(view, expected)


def test_file_errors(tmp_path):
    missing = str(tmp_path / "missing.safetensors")
    with pytest.raises(lnn.FileError, match="missing.safetensors") as info:
        lnn.Model.load(missing)
    assert isinstance(info.value, OSError) and info.value.path == missing
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(lnn.FileError, match="bad.safetensors"):
        lnn.Model.load(str(bad))
    model = lnn.Model(n=1, hidden=[2])
    with pytest.raises(lnn.FileError, match="lnn."):
        model.save(str(tmp_path / "x.safetensors"), {"lnn.n": "3"})
