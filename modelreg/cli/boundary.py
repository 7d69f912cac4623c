"""The CLI's one error boundary, without Click (the reads that skip Click end here
too): a :class:`~modelreg.errors.ModelregError` is one line on stderr and the exit
code of its kind (1 or 2); Ctrl-C is 130; a closed pipe is a quiet exit 0; a file
system refusal is the user's to fix (1); anything else is a bug, reported in one
line with the path of the traceback (exit 3). Click's own outcomes (usage errors:
2) are turned into these by :func:`modelreg.cli.group.run_click`.

Also the boundary's pieces: the CLI's words for the library's remedies
(:func:`cli_words`), undecodable arguments, the traceback file.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from ..errors import ModelregError


def run(action: Callable[[], None], args: Sequence[str]) -> NoReturn:
    """Run one command (``action``, for the command line ``args``) and exit as the
    boundary says."""
    from ..errors import EXIT_CODES, Kind, ModelregError

    show_traceback = "--traceback" in args
    _refuse_undecodable(args)
    try:
        action()
    except ModelregError as exc:
        from ..render import error

        error(*cli_words(exc))
        sys.exit(EXIT_CODES[exc.kind])
    except KeyboardInterrupt:
        sys.stderr.write("modelreg: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except OSError as exc:
        # The file system refused something the user named (a path too long, a
        # folder where a file should be, no permission): their problem to fix.
        from ..render import error

        where = f"{exc.filename}: " if exc.filename else ""
        error(f"{where}{exc.strerror or exc}", None)
        sys.exit(1)
    except Exception as exc:  # the bug boundary
        import traceback

        text = traceback.format_exc()
        if show_traceback:
            sys.stderr.write(text)
        where = "(could not write the traceback)"
        try:
            path = _traceback_file()
            path.write_text(text, encoding="utf-8")
            where = f"traceback in {path}"
        except OSError:
            pass
        sys.stderr.write(
            f"modelreg: internal error ({type(exc).__name__}: {exc}); this is a bug; {where}\n"
        )
        sys.exit(EXIT_CODES[Kind.BUG])
    sys.exit(0)


def _traceback_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "modelreg"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "last-traceback.txt"


def _refuse_undecodable(args: Sequence[str]) -> None:
    """Bytes that are not UTF-8 (Python hands them over as lone surrogates) cannot go
    into a tag message, a manifest or a git argument: one line, exit 1, before any
    work starts."""
    settings = [(f"${k}", v) for k, v in os.environ.items() if k.startswith("MODELREG_")]
    for shown, text in [(None, a) for a in args] + settings:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            from ..render import error

            raw = repr(text.encode("utf-8", "surrogateescape"))[2:-1]
            where = f"{shown} " if shown else "argument "
            error(f"{where}'{raw}' is not valid UTF-8 text", "pass text in UTF-8")
            sys.exit(1)


def _flag_words() -> dict[str, str]:
    """The CLI's words for each fix the library names by its parameter: its flags."""
    from .. import errors as e

    return {
        e.FORCE_WITH_REASON: "override with --force -m REASON",
        e.NO_FORCE: "--force cannot override this",
        e.FORCE_NEEDS_REASON: "--force needs a reason: add -m REASON",
        e.FORCE_OR_OUT_DIR: "pass --force to replace it, or choose another -o DIR",
        e.ALLOW_UNRESOLVED: "pass --allow-unresolved",
        e.SIGN: "pass --sign",
        e.LISTEN_PUBLIC: "pass --public",
        e.IMPORT_ONE_MODEL: "import the others with --model NAME",
        e.LOCAL_OPTION: "pass it as --local-option",
        e.PASSWORD_LOCAL_OPTION: "in --local-option",
        e.REMOTE_LOCAL_OPTIONS: "modelreg remote add NAME URL --local-option",
        e.ROLLBACK_TO: "name one: modelreg rollback {name} --stage {stage} --to VERSION",
        e.REPAIR_WITH_DOCTOR: "run 'modelreg doctor --repair'",
        e.REGISTERED_WITHOUT_PUSH: "the version was registered without '--push'; "
        "run 'modelreg push' in the clone that registered it",
        e.VERIFY_REMOTE: "run 'modelreg verify --remote'",
        e.VERIFY_REMOTE_FINDS: "'modelreg verify --remote' finds them",
        e.ADD_DEFAULT_REMOTE: "modelreg remote add NAME URL --default",
        e.INIT_REMOTE: "modelreg init --remote URL",
        e.INIT_REMOTE_RUN: "run 'modelreg init --remote URL'",
        e.PARAM: "{flag} '",
        e.PARAM_BARE: "{flag} ",
    }


def cli_words(exc: ModelregError) -> tuple[str, str | None]:
    """The error's message and hint as the CLI says them: each fix the library
    named by the operation's parameter becomes the flag that sets it."""
    message, hint = exc.message, exc.hint
    words = _flag_words()
    for remedy in exc.remedies:
        said = remedy.text
        args = dict(remedy.args, flag="--" + remedy.param.replace("_", "-"))
        flag = words[remedy.said].format(**args)
        if said in message:
            message = message.replace(said, flag, 1)
        elif hint is not None:
            hint = hint.replace(said, flag, 1)
    return message, hint
