"""The ``apflow`` command line: the root app, global options and error handling.

Each command group lives in its own module in this package and is added here.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from apflow import __version__
from apflow.cli.common import state
from apflow.core.utils.logger import configure_logging

app = typer.Typer(
    name="apflow",
    help="Describe a workflow in plain English, get a validated task tree, run it.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"apflow {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL or SQLite path (default ./.apflow/apflow.db)"),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More logging; shows tracebacks")
    ] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version")
    ] = False,
) -> None:
    state.db = db
    state.verbose = verbose
    configure_logging(verbose)


def _register_groups() -> None:
    """Each command module adds its commands to ``app`` on import."""
    import apflow.cli.config  # noqa: F401
    import apflow.cli.demo  # noqa: F401
    import apflow.cli.eval  # noqa: F401
    import apflow.cli.executors  # noqa: F401
    import apflow.cli.generate  # noqa: F401
    import apflow.cli.models  # noqa: F401
    import apflow.cli.run  # noqa: F401
    import apflow.cli.serve  # noqa: F401
    import apflow.cli.show  # noqa: F401
    import apflow.cli.tasks  # noqa: F401
    import apflow.cli.validate  # noqa: F401
    import apflow.cli.worker  # noqa: F401


_register_groups()


def main() -> None:
    if hasattr(sys.stdout, "reconfigure"):
        # A lone surrogate in a stored value (written by a plugin executor, say) is printed as
        # \udXXX, which in --json output is the JSON escape for it, instead of failing the
        # command with UnicodeEncodeError after the work is done.
        sys.stdout.reconfigure(errors="backslashreplace")
    app(args=text_arguments_kept(sys.argv[1:]), prog_name="apflow")


#: Commands whose argument is free text (a request), which may start with "-".
TEXT_COMMANDS = frozenset({"generate"})


def text_arguments_kept(argv: list[str]) -> list[str]:
    """A request that starts with ``-`` and holds white space, kept as the request.

    Why: a request written as a bullet list (``apflow generate "- GET https://..."``) was
    refused with "No such option: -". No option has a space in its name, so such an argument
    is text; a leading space (the generator strips it) keeps click from reading it as an
    option, wherever it stands among the options.
    """
    if not argv or argv[0] not in TEXT_COMMANDS or "--" in argv:
        return argv
    return [
        " " + arg if arg.startswith("-") and any(c.isspace() for c in arg) else arg for arg in argv
    ]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
