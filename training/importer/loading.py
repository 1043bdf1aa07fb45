"""Open a user's Keras file without running code it carries.

A ``.keras`` file is a zip whose ``config.json`` names every layer class; a legacy ``.h5``
holds the same tree in its ``model_config`` attribute. Both trees are read as JSON and
checked *before* Keras deserialises anything: a ``Lambda`` layer (marshalled Python
bytecode) is refused outright, and a class outside Keras is refused unless the user named
the module that defines it (``--custom-objects``, code they trust and we import). Only then
is the file loaded, with Keras' own ``safe_mode=True`` as a second lock.
"""

from __future__ import annotations

import importlib
import inspect
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras

from training.importer.errors import ImportRefused

#: Layer classes that carry code to run: never deserialised, even with --custom-objects.
CODE_LAYERS = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda"})
SUFFIXES = (".keras", ".h5", ".hdf5")


def read_config(path: Path) -> dict[str, Any]:
    """The model's config tree, read as data."""
    if path.suffix not in SUFFIXES:
        raise ImportRefused(f"{path.name}: expected a Keras file ({', '.join(SUFFIXES)})")
    if not path.is_file():
        raise ImportRefused(f"{path}: no such file")
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read("config.json"))
        import h5py

        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
            if raw is None:
                raise ImportRefused(f"{path.name}: an .h5 file of weights only, no model")
            return json.loads(raw if isinstance(raw, str) else raw.decode("utf-8"))
    except ImportRefused:
        raise
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ImportRefused(f"{path.name}: not a readable Keras model file ({err})") from None


def _layer_configs(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        if "class_name" in tree and isinstance(tree.get("config"), dict):
            yield tree
        for value in tree.values():
            yield from _layer_configs(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _layer_configs(value)


def _is_keras_class(entry: dict[str, Any]) -> bool:
    module = entry.get("module")
    if module is None:  # legacy .h5 trees name built-ins without a module
        return entry.get("registered_name") in (None, entry["class_name"])
    return module == "builtins" or module.split(".")[0] in ("keras", "tensorflow", "tf_keras")


def check_config(config: dict[str, Any], custom: dict[str, type]) -> None:
    """Refuse code layers and classes nobody vouched for, naming them."""
    for entry in _layer_configs(config):
        cls, name = entry["class_name"], entry["config"].get("name", "?")
        if cls in CODE_LAYERS:
            raise ImportRefused(
                f"layer {name!r} is a {cls}: it holds Python code, which layerlens never runs; "
                "rebuild the model with built-in layers (or a custom layer class passed with "
                "--custom-objects)"
            )
        if not _is_keras_class(entry) and cls not in custom:
            raise ImportRefused(
                f"layer {name!r} is of custom class {cls!r} (module {entry.get('module')!r}); "
                "pass --custom-objects MODULE naming the Python module that defines it, "
                "only if you trust that code"
            )


def custom_objects(module_name: str | None) -> dict[str, type]:
    """The Keras layer (and other) classes a trusted module defines, by class name."""
    if not module_name:
        return {}
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ImportRefused(f"--custom-objects {module_name!r}: cannot import it ({err})") from None
    found = {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, keras.layers.Layer | keras.Model | keras.initializers.Initializer)
    }
    if not found:
        raise ImportRefused(f"--custom-objects {module_name!r} defines no Keras layer class")
    return found


def load(path: Path, custom_objects_module: str | None = None) -> keras.Model:
    """The model in ``path``, checked first, then loaded in Keras' safe mode (uncompiled)."""
    custom = custom_objects(custom_objects_module)
    check_config(read_config(path), custom)
    try:
        model = keras.saving.load_model(path, custom_objects=custom, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for a file it cannot rebuild
        raise ImportRefused(f"{path.name}: Keras cannot load it ({err})") from None
    if not isinstance(model, keras.Model):
        raise ImportRefused(f"{path.name}: holds a {type(model).__name__}, not a model")
    return model
