"""``lookskip api-sim``: a local Message Batches API for free dry runs and fault tests."""

from __future__ import annotations

import asyncio

import click

from cli.common import console, fail, out


def _codes(_ctx, _param, value: str) -> tuple[int, ...]:
    try:
        codes = tuple(int(c) for c in value.split(",") if c.strip())
    except ValueError:
        raise click.BadParameter("comma-separated HTTP status codes, e.g. 429,500,529") from None
    if not codes or any(not 400 <= c <= 599 for c in codes):
        raise click.BadParameter("codes must be HTTP error statuses (400-599)")
    return codes


def _rate(_ctx, param, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter(f"{param.name} must be between 0 and 1")
    return value


@click.command("api-sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=int,
    help="Port to listen on (0 = any free port; the URL is printed).",
)
@click.option(
    "--replay",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Recorded results (JSONL, as the results endpoint returns them): a request "
    "whose custom_id is in it (and whose window has as many lines as the "
    "recorded answer) gets that answer.",
)
@click.option(
    "--delay",
    default=1.0,
    show_default=True,
    type=float,
    help="Seconds a batch stays in_progress before it ends.",
)
@click.option(
    "--fail-rate",
    default=0.0,
    show_default=True,
    type=float,
    callback=_rate,
    help="Share of HTTP calls answered with an error status (the SDK retries).",
)
@click.option(
    "--fail-codes",
    default="429,500,529",
    show_default=True,
    callback=_codes,
    help="Statuses used for --fail-rate.",
)
@click.option(
    "--error-rate",
    default=0.0,
    show_default=True,
    type=float,
    callback=_rate,
    help="Share of batch requests whose result is 'errored'.",
)
@click.option(
    "--expire-rate",
    default=0.0,
    show_default=True,
    type=float,
    callback=_rate,
    help="Share of batch requests whose result is 'expired'.",
)
@click.option(
    "--malformed-rate",
    default=0.0,
    show_default=True,
    type=float,
    callback=_rate,
    help="Share of answers damaged (fences, truncation, missing lines, prose, …).",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Seed for all fault injection (same seed, same faults).",
)
@click.option(
    "--data-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Keep batches here as JSON, so a restarted simulator still knows them.",
)
@click.option(
    "--oracle",
    "oracle",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Labels files (JSONL rows with raw_line and label; repeatable): every shown "
    "line (window or template request) is answered with its label, so a whole "
    "labeling or ask-Claude loop can be measured against known labels.",
)
def api_sim(
    host: str,
    port: int,
    replay: str | None,
    delay: float,
    fail_rate: float,
    fail_codes: tuple[int, ...],
    error_rate: float,
    expire_rate: float,
    malformed_rate: float,
    seed: int,
    data_dir: str | None,
    oracle: tuple[str, ...] = (),
) -> None:
    """Run a local stand-in for the Anthropic Message Batches API.

    It serves create, retrieve, list, results (JSONL) and cancel for message
    batches, plus POST /v1/messages, shaped as the real API so the official SDK
    works against it. Point lookskip at it and label for free:

    \b
      lookskip api-sim --replay ../shared/data/batches/batch_results.jsonl &
      ANTHROPIC_BASE_URL=http://127.0.0.1:8765 ANTHROPIC_API_KEY=sim lookskip label

    Requests found in --replay get their recorded answer; with --oracle, every
    shown line gets its label from the labels files; the others get a
    deterministic keyword heuristic (a stand-in, not a real labeler).
    """
    from lookskip.apisim.server import SimOptions, serve_forever

    options = SimOptions(
        replay=replay,
        delay=delay,
        fail_rate=fail_rate,
        fail_codes=fail_codes,
        error_rate=error_rate,
        expire_rate=expire_rate,
        malformed_rate=malformed_rate,
        seed=seed,
        data_dir=data_dir,
        oracle=tuple(oracle),
    )

    def ready(url: str, sim) -> None:
        out.print(f"listening on {url}")
        extra = f", {len(sim.replay)} recorded answers" if sim.replay else ""
        if sim.oracle is not None:
            extra += f", oracle of {len(sim.oracle.by_line):,} labeled lines"
        console.print(f"api-sim: batches end after {delay}s{extra}; Ctrl-C stops")
        import sys

        sys.stdout.flush()

    try:
        asyncio.run(serve_forever(options, host, port, ready))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"{replay}: not a recorded results file ({exc})")
