"""``layerlens-train import``: a user's Keras file becomes a version, or nothing changes.

Every check runs before anything is written (the file's classes, the graph, the outputs,
the class names, the data), then ``training.export.export_model`` stages the version and
renames it into place like a trained one, so a refused or failed import leaves the
repository as it was.
"""

from __future__ import annotations

from pathlib import Path

from core.manifest import DatasetRecord, Manifest, file_sha256, is_valid_model_name
from training.contract import Description
from training.export import export_model
from training.importer import endpoints, loading
from training.importer.contract_options import (
    TASKS,
    ImportOptions,
    input_contract,
    model_input_shape,
)
from training.importer.data import ImportData
from training.importer.errors import ImportRefused
from training.importer.graph import flatten

ARCHITECTURE = "imported"


def import_model(
    path: Path,
    *,
    name: str,
    models_dir: Path,
    options: ImportOptions | None = None,
    data: ImportData | None = None,
    compile_for_litert: bool = True,
) -> Manifest:
    """Check, then export ``path`` as the next version of ``name``; raise ImportRefused
    (naming the reason) before writing anything when it cannot be served."""
    options = options or ImportOptions()
    if not is_valid_model_name(name):
        raise ImportRefused(f"--name {name!r}: use lower-case letters, digits and '-'")
    if options.task and options.task not in TASKS:
        raise ImportRefused(f"--task {options.task!r}: one of {', '.join(TASKS)}")
    model = loading.load(path, options.custom_objects)
    shape = model_input_shape(model, options.input_shape)
    spec, scale = input_contract(model, shape, options)
    graph = flatten(model, shape, before=scale)
    exported, outputs = endpoints.build(graph, embedding=options.embedding)
    num_classes = int(graph.output.shape[-1])
    task = TASKS[options.task] if options.task else None
    classes = options.classes or (task.class_names if task else None)
    classes = classes or tuple(str(i) for i in range(num_classes))
    if len(classes) != num_classes:
        raise ImportRefused(
            f"the model outputs {num_classes} classes but {len(classes)} class names were given"
        )
    if data is not None:
        data.check(spec, num_classes)
    params = int(model.count_params())
    about = Description(
        name=name,
        task=options.task or ARCHITECTURE,
        architecture=ARCHITECTURE,
        description=options.description
        or f"imported from {path.name}: {len(exported.layer_specs)} layers, "
        f"{params:,} parameters, {outputs.kind} output",
        class_names=classes,
        input=spec,
    )
    record = data.record() if data else _no_data()
    return export_model(
        about,
        exported,
        models_dir=models_dir,
        training={
            "epochs": 0,
            "batch_size": 0,
            "optimizer": "unknown (imported)",
            "learning_rate": 0.0,
            "loss": "unknown (imported)",
            "seed": 0,
            "seconds": 0.0,
            "params": params,
            "extra": {
                "imported_from": path.name,
                "file_sha256": file_sha256(path),
                "output": outputs.kind,
                "custom_objects": options.custom_objects,
            },
        },
        dataset=record,
        compile_for_litert=compile_for_litert,
    )


def _no_data() -> DatasetRecord:
    return DatasetRecord(name="none", source="imported without data", sha256={}, split={})
