"""Entry point of the ``lookskip`` command.

Subcommands are imported lazily (click's LazyGroup pattern): ``lookskip --help``
and ``lookskip classify`` must not pay for importing scikit-learn, torch or Celery.
To add a command, add one line to ``COMMANDS``.
"""

from __future__ import annotations

import difflib
import importlib

import click

from lookskip import __version__

# name -> "module:attribute", in the order `--help` lists them: what a newcomer runs
# first (classify their own logs) first.
COMMANDS: dict[str, str] = {
    "classify": "cli.classify:classify",
    "datasets": "cli.datasets:datasets",
    "ingest": "cli.ingest:ingest",
    "validate": "cli.validate:validate",
    "label": "cli.label:label",
    "retrain": "cli.label:retrain",
    "train": "cli.train:train",
    "evaluate": "cli.evaluate:evaluate",
    "export": "cli.export:export",
    "train-transformer": "cli.transformer:train_transformer",
    "export-transformer": "cli.transformer:export_transformer",
    "api-sim": "cli.apisim:api_sim",
    "enqueue": "cli.enqueue:enqueue",
    "status": "cli.status:status",
    "jobs": "cli.status:jobs",
    "worker": "cli.worker:worker",
    "flower": "cli.worker:flower",
    "doctor": "cli.doctor:doctor",
}


class LazyGroup(click.Group):
    def __init__(self, *args, lazy: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *sorted(set(super().list_commands(ctx)) - set(self.lazy))]

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a panic of the Rust extension is one line, not a traceback.

        ``pyo3``'s ``PanicException`` derives from ``BaseException``, so no command's
        error handling sees it. No input should reach one (the extension returns
        errors), so this is the last guard, and the message asks for a report.
        """
        try:
            return super().invoke(ctx)
        except BaseException as exc:
            if type(exc).__name__ != "PanicException":
                raise
            from cli.common import fail

            first = (str(exc).splitlines() or [""])[0]
            fail(f"internal error in the Rust extension ({first}); please report it")

    def resolve_command(self, ctx: click.Context, args: list[str]):
        """A mistyped command gets the nearest one: ``clasify`` → "did you mean classify?"."""
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            name = args[0] if args else ""
            near = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.6)
            if not near or self.get_command(ctx, name) is not None:
                raise
            hint = f"Did you mean {near[0]!r}? (`lookskip --help` lists all)"
            raise click.UsageError(f"No such command {name!r}. {hint}", ctx) from exc

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="lookskip")
def cli() -> None:
    """lookskip: find the few log lines worth reading in huge log archives.

    \b
    Classify your own logs (the shipped model, no setup):
      lookskip classify /var/log/syslog --format text     LOOK lines, file:line:prob:text
      lookskip classify /var/log --output out/            many files: rows, summary, report
    Retrain the LOOK/SKIP classifier on your own logs:
      lookskip ingest --source loghub      fetch samples (or --source DIR, synthetic)
      lookskip label                       label every line with Claude (Batch API)
      lookskip train && lookskip export    fit TF-IDF + LogisticRegression, export it
      lookskip retrain --datasets MyApp --budget 0.10   all of it, labeling only
                                           the windows the model is unsure of
    Every stage also runs on Celery workers: `lookskip enqueue <stage> …`.

    Data (samples, labels, models) live in ./data where it exists, else in the user-data
    dir (~/.local/share/lookskip on Linux); LOOKSKIP_DATA_DIR overrides. classify uses the
    data dir's model if there is one, else the one lookskip ships with; `lookskip doctor`
    names both. Settings come from LOOKSKIP_* environment variables or lookskip.toml;
    see README.md.
    """


if __name__ == "__main__":
    cli()
