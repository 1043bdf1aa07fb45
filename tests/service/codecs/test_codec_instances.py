import json

import numpy as np
import pytest

from core.manifest import InputSpec
from service.codecs import decode_json_instances
from service.errors import InvalidInput, PayloadTooLarge


def _decode(instances: object, spec: InputSpec, **options: object) -> np.ndarray:
    return decode_json_instances(instances, spec, max_batch=16, **options)


def _is_model_input(array: np.ndarray, spec: InputSpec, n: int) -> None:
    assert array.shape == (n, *spec.shape)
    assert array.dtype == np.float32
    assert array.flags.c_contiguous


def test_nested_and_flat_instances_give_the_same_batch(mnist_spec: InputSpec) -> None:
    image = np.arange(784).reshape(28, 28) % 256
    nested = _decode([image.tolist()], mnist_spec)
    flat = _decode([image.ravel().tolist()], mnist_spec)
    _is_model_input(nested, mnist_spec, 1)
    np.testing.assert_array_equal(nested, flat)
    np.testing.assert_array_equal(nested[0], image)


def test_ints_and_floats_mixed_in_one_batch(digits8_spec: InputSpec) -> None:
    batch = [[[0, 16.0] * 4] * 8, [1.5] * 64]
    out = _decode(batch, digits8_spec)
    _is_model_input(out, digits8_spec, 2)
    assert out[0, 0, 1] == 16.0
    assert out[1, 7, 7] == 1.5


def test_xor_pairs(xor_spec: InputSpec) -> None:
    out = _decode([[0, 1], [-5, 5.0], [0.25, -0.75]], xor_spec)
    _is_model_input(out, xor_spec, 3)
    np.testing.assert_array_equal(out[2], [0.25, -0.75])


def test_unit_scale_maps_onto_the_value_range(mnist_spec: InputSpec, xor_spec: InputSpec) -> None:
    out = _decode([[0.0, 0.5, 1] + [0] * 781], mnist_spec, scale="unit")
    np.testing.assert_allclose(out[0, 0, :3], [0.0, 127.5, 255.0])
    pair = _decode([[0, 1.0]], xor_spec, scale="unit")
    np.testing.assert_allclose(pair[0], [-5.0, 5.0])


def test_unit_scale_refuses_values_above_one(mnist_spec: InputSpec) -> None:
    with pytest.raises(
        InvalidInput, match=r"instance 0 has values outside \[0, 1\] \(scale=unit\)"
    ):
        _decode([[0] * 783 + [255]], mnist_spec, scale="unit")


def test_unknown_scale(mnist_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match="scale must be one of raw, unit; got 'percent'"):
        _decode([[0] * 784], mnist_spec, scale="percent")


def test_values_a_hair_outside_the_range_are_clipped(xor_spec: InputSpec) -> None:
    out = _decode([[5.0000001, -5.0000001]], xor_spec)
    np.testing.assert_array_equal(out[0], [5.0, -5.0])


@pytest.mark.parametrize(
    ("instance", "got"),
    [
        ([[0] * 28] * 27, "got 27x28"),
        ([0] * 783, "got 783 values"),
        ([[0] * 28] * 27 + [[0] * 27], "got a ragged nested list"),
        (7, "got a single number"),
        ({"x": 1}, "got an object"),
        ([[[0] * 28] * 28], "got 1x28x28"),
    ],
)
def test_wrong_shapes_name_the_instance_and_what_came(
    mnist_spec: InputSpec, instance: object, got: str
) -> None:
    good = [0] * 784
    with pytest.raises(InvalidInput) as caught:
        _decode([good, good, good, instance], mnist_spec)
    assert caught.value.message == (
        f"instance 3: expected 784 values or a 28x28 nested list, {got}"
    )


def test_one_instance_without_the_batch_list_gets_a_hint(mnist_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match="must still be wrapped in the instances list"):
        decode_json_instances([[0] * 28] * 28, mnist_spec, max_batch=100)


def test_list_where_a_number_belongs(xor_spec: InputSpec) -> None:
    with pytest.raises(
        InvalidInput, match="instance 1: expected 2 values, got a ragged nested list"
    ):
        _decode([[0, 0], [1, [1]]], xor_spec)


@pytest.mark.parametrize(
    ("bad", "said"),
    [
        ("3", "a string ('3')"),
        (None, "null"),
        (True, "a boolean (true)"),
        (False, "a boolean (false)"),
        ({"v": 1}, "an object"),
    ],
)
def test_only_numbers_are_accepted(xor_spec: InputSpec, bad: object, said: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _decode([[0, 0], [1, bad]], xor_spec)
    message = caught.value.message
    assert message.startswith("instance 1:")
    assert said in message


def test_bool_hidden_among_numbers_is_found(mnist_spec: InputSpec) -> None:
    instance = [[0] * 28 for _ in range(28)]
    instance[5][9] = True
    with pytest.raises(InvalidInput, match=r"instance 0: value at \[5\]\[9\] is a boolean"):
        _decode([instance], mnist_spec)


@pytest.mark.parametrize(
    ("value", "name"), [("NaN", "NaN"), ("Infinity", "Inf"), ("-Infinity", "Inf")]
)
def test_nan_and_inf_from_a_json_parser(xor_spec: InputSpec, value: str, name: str) -> None:
    instances = json.loads(f"[[0, 0], [0, 0], [{value}, 1]]")
    with pytest.raises(InvalidInput, match=f"^instance 2 contains {name}$"):
        _decode(instances, xor_spec)


def test_out_of_range_names_instance_and_extremes(mnist_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput) as caught:
        _decode([[0] * 784, [-1] + [0] * 782 + [300]], mnist_spec)
    assert caught.value.message == "instance 1 has values outside [0, 255]: min -1, max 300"


def test_number_too_large_for_a_float(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match=r"instance 0: .*too large"):
        _decode([[1, 10**400]], xor_spec)


def test_absurdly_deep_nesting_is_a_clear_400(mnist_spec: InputSpec) -> None:
    deep: object = 0
    for _ in range(900):
        deep = [deep]
    with pytest.raises(InvalidInput, match="got a list nested more than 16 levels deep"):
        _decode([deep], mnist_spec)


def test_not_a_list(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match="'instances' must be a list, got a string"):
        _decode("0,1", xor_spec)


def test_empty_batch(xor_spec: InputSpec) -> None:
    with pytest.raises(InvalidInput, match="empty batch"):
        _decode([], xor_spec)


def test_too_many_instances_names_the_limit(xor_spec: InputSpec) -> None:
    with pytest.raises(PayloadTooLarge, match="batch of 17 instances exceeds the limit of 16"):
        _decode([[0, 0]] * 17, xor_spec)


def test_a_full_batch_of_images_converts_exactly(mnist_spec: InputSpec) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(512, 28, 28))
    out = decode_json_instances(json.loads(json.dumps(images.tolist())), mnist_spec, max_batch=512)
    np.testing.assert_array_equal(out, images.astype(np.float32))
