"""``fieldkit demo`` (what ``make run`` runs): a central service on embedded SQLite with a demo
team, a worker's and a team lead's laptop enrolled to it, a seeded caseload synced through it,
and the app opened as the worker.

Everything goes through the real parts: ``fieldkit-server`` as a separate process (its own
admin CLI creates the team, users, enrolment codes and the knowledge library), enrolment with
one-time codes, the services for every record, and sync over loopback HTTP. The team lead
reviews some of the worker's assessments (approves most, returns one) so both sides of the
review journey are there to see.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from fieldkit.cli import emit
from fieldkit.errors import N_, ExitCode, FieldkitError
from fieldkit.i18n import _, resources_dir

MARKER = ".fieldkit-demo"
PASSPHRASE = "fältarbete i Järva 2026"  # noqa: S105 (the published demo passphrase)
TEAM = "Fältgruppen Järva"
WORKER = ("anna", "Anna Lindqvist")
LEAD = ("lars", "Lars Öberg")
SECOND_WORKER = ("sofia", "Sofia Hassan")
KNOWLEDGE = (
    ("rutin-orosanmalan.md", "Rutin: orosanmälan", "rutin,barn"),
    ("rutin-samverkan-polis.md", "Rutin: samverkan med polisen", "rutin,polis,sspf"),
    ("metodstod-exit.md", "Metodstöd: stöd att lämna en våldsbejakande miljö", "metod,exit"),
    ("kontakter.md", "Kontakter", "kontakter"),
)


class DemoFailed(FieldkitError):
    exit_code = ExitCode.FAILURE
    code = "demo_failed"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "demo",
        help=_("start a demo server with a seeded team and open the app as its worker"),
    )
    parser.add_argument("--dir", help=_("demo folder (default: 'demo' in the user data dir)"))
    parser.add_argument(
        "--as",
        dest="who",
        choices=["worker", "lead"],
        default="worker",
        help=_("open the app as the worker (default) or the team lead"),
    )
    parser.add_argument("--fresh", action="store_true", help=_("rebuild the demo from scratch"))
    parser.add_argument(
        "--no-gui", action="store_true", help=_("set up and seed the demo, then stop")
    )
    parser.add_argument("--cases", type=int, default=22, help=argparse.SUPPRESS)
    parser.add_argument("--fast-keys", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def server_db(self) -> Path:
        return self.root / "server" / "fieldkit-server.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.server_db}"

    def profile(self, username: str) -> Path:
        return self.root / "laptops" / username

    @property
    def state(self) -> Path:
        return self.root / "demo.json"


def _default_root() -> Path:
    from fieldkit.config import paths

    return (
        paths.data_dir().parent / "demo"
        if "FIELDKIT_DATA_DIR" in os.environ
        else (paths.data_dir() / "demo")
    )


def _server(paths: DemoPaths, *args: str, json_out: bool = False) -> Any:
    """Run one ``fieldkit-server`` admin command in this process (the server's own CLI)."""
    from fieldkit.server.cli import main as server_main

    command = [*args, "--db", paths.db_url, *(["--json"] if json_out else [])]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = server_main(command)
    if code != 0:
        raise DemoFailed(
            N_("The demo server command '{command}' failed: {detail}"),
            command=" ".join(args[:2]),
            detail=(err.getvalue() or out.getvalue()).strip()[-400:],
        )
    return json.loads(out.getvalue()) if json_out else out.getvalue().strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def running_server(paths: DemoPaths, port: int) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    log = (paths.root / "server" / "server.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldkit.server.cli",
            "serve",
            "--db",
            paths.db_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise DemoFailed(
                    N_("The demo server stopped at start (see {log})."),
                    log=str(paths.root / "server" / "server.log"),
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise DemoFailed(N_("The demo server did not answer within 30 seconds."))
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _config(fast_keys: bool) -> Any:
    from fieldkit.config import load_config

    config = load_config()
    if not fast_keys:
        return config
    return _Override(config, argon2_target_seconds=0.01)


class _Override:
    """A config with a few values replaced (test runs of the demo use cheap key derivation)."""

    def __init__(self, base: Any, **values: Any) -> None:
        self._base = base
        self._values = values

    def get(self, name: str, default: Any = None) -> Any:
        if name in self._values:
            return self._values[name]
        return self._base.get(name, default)

    def is_managed(self, name: str) -> bool:
        return name not in self._values and bool(self._base.is_managed(name))

    def __getattr__(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        return getattr(self._base, name)


def build(paths: DemoPaths, *, cases: int, fast_keys: bool, say: Any) -> dict[str, Any]:
    """Create the server database, the team, the laptops and the seeded caseload."""
    from fieldkit.domain.enums import ReviewDecision, ReviewOutcome
    from fieldkit.services import assessments, demo, sync
    from fieldkit.services.profile import open_session

    if paths.root.exists():
        if not (paths.root / MARKER).exists() and any(paths.root.iterdir()):
            raise DemoFailed(
                N_("{path} exists and is not a demo folder; it was left untouched."),
                N_("Choose another folder with --dir."),
                path=str(paths.root),
            )
        for username in (WORKER[0], LEAD[0], SECOND_WORKER[0]):
            if (paths.profile(username) / "profile.json").exists():
                from fieldkit.services.profile import wipe_profile

                with contextlib.suppress(FieldkitError, OSError):
                    wipe_profile(paths.profile(username))
        shutil.rmtree(paths.root)
    (paths.root / "server").mkdir(parents=True)
    (paths.root / MARKER).write_text("fieldkit demo folder; safe to delete\n", encoding="utf-8")
    config = _config(fast_keys)

    say(_("Creating the central service's database (SQLite) ..."))
    _server(paths, "init-db")
    _server(paths, "team", "add", TEAM)
    for (username, name), role in (
        (WORKER, "worker"),
        (SECOND_WORKER, "worker"),
        (LEAD, "team_lead"),
    ):
        _server(
            paths, "user", "add", username, "--team", TEAM, "--role", role, "--display-name", name
        )
    _server(paths, "user", "add", "it-admin", "--role", "admin", "--display-name", "IT-support")
    knowledge = resources_dir() / "demo" / "knowledge"
    for filename, title, tags in KNOWLEDGE:
        _server(
            paths, "docs", "publish", str(knowledge / filename), "--title", title, "--tags", tags
        )

    port = _free_port()
    with running_server(paths, port) as url:
        codes = {
            username: _server(paths, "enroll-code", username, json_out=True)["code"]
            for username in (WORKER[0], LEAD[0])
        }
        say(_("Enrolling the worker's laptop and writing the caseload ..."))
        worker_dir = paths.profile(WORKER[0])
        worker_dir.mkdir(parents=True)
        with sync.enroll(
            worker_dir,
            codes[WORKER[0]],
            PASSPHRASE,
            server_url=url,
            allow_http_loopback=True,
            config=config,
        ) as session:
            seeded = demo.seed_caseload(session, case_count=cases)
            sync.sync_now(session)

        say(_("Enrolling the team lead's laptop and reviewing ..."))
        lead_dir = paths.profile(LEAD[0])
        lead_dir.mkdir(parents=True)
        with sync.enroll(
            lead_dir,
            codes[LEAD[0]],
            PASSPHRASE,
            server_url=url,
            allow_http_loopback=True,
            config=config,
        ) as session:
            sync.sync_now(session)
            queue = [a.id for a in assessments.review_queue(session)]
            returned = queue[:1]
            # leave a couple in the queue for the lead to review in the app
            to_approve = queue[1:-2] if len(queue) > 4 else queue[1:]
            for assessment_id in to_approve:
                assessments.review(
                    session,
                    assessment_id,
                    ReviewDecision.AGREE,
                    "Instämmer i bedömningen.",
                    ReviewOutcome.APPROVE,
                )
            for assessment_id in returned:
                assessments.review(
                    session,
                    assessment_id,
                    ReviewDecision.PARTLY,
                    "Utveckla motiveringen kring skyddsfaktorerna och komplettera med skolans "
                    "bild innan godkännande.",
                    ReviewOutcome.RETURN,
                )
            sync.sync_now(session)

        with open_session(worker_dir, PASSPHRASE, config) as session:
            sync.sync_now(session)

    state = {
        "server_db": str(paths.server_db),
        "port": port,
        "passphrase": PASSPHRASE,
        "worker": {"username": WORKER[0], "name": WORKER[1], "profile": str(worker_dir)},
        "lead": {"username": LEAD[0], "name": LEAD[1], "profile": str(lead_dir)},
        "cases": len(seeded.case_ids),
        "notes": seeded.notes,
        "assessments_submitted": len(seeded.submitted_assessment_ids),
        "assessments_returned": len(returned),
    }
    paths.state.write_text(json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8")
    return state


def _usable(paths: DemoPaths, config: Any) -> bool:
    """An existing demo whose laptops can still be unlocked (their keyring entries exist)."""
    from fieldkit.services.profile import open_session

    if not paths.state.exists():
        return False
    state = json.loads(paths.state.read_text(encoding="utf-8"))
    if not _port_free(int(state.get("port", 0))):
        return False  # the laptops know the server by its loopback port
    try:
        for username in (WORKER[0], LEAD[0]):
            open_session(paths.profile(username), PASSPHRASE, config).lock()
    except (FieldkitError, OSError):
        return False
    return True


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir).resolve() if args.dir else _default_root()
    paths = DemoPaths(root)
    config = _config(args.fast_keys)
    quiet = args.json

    def say(text: str) -> None:
        if not quiet:
            print(text, flush=True)

    if args.fresh or not _usable(paths, config):
        state = build(paths, cases=args.cases, fast_keys=args.fast_keys, say=say)
    else:
        state = json.loads(paths.state.read_text(encoding="utf-8"))
    who = state["lead"] if args.who == "lead" else state["worker"]
    other = "lead" if args.who == "worker" else "worker"
    summary = {
        "demo_dir": str(paths.root),
        "passphrase": PASSPHRASE,
        "opened_as": who["username"],
        **{k: state[k] for k in ("cases", "notes", "assessments_submitted")},
    }
    text = "\n".join(
        [
            "",
            _("fieldkit demo is ready: {cases} cases, {notes} notes, {team}.").format(
                cases=state["cases"], notes=state["notes"], team=TEAM
            ),
            _("Passphrase (both laptops): {passphrase}").format(passphrase=PASSPHRASE),
            _("Opening the app as {name} ({username}).").format(
                name=who["name"], username=who["username"]
            ),
            (
                _("To switch to the team lead: fieldkit demo --as lead (or make run DEMO_AS=lead)")
                if other == "lead"
                else _("To switch to the worker: fieldkit demo --as worker (or make run)")
            ),
        ]
    )
    if args.no_gui:
        emit(args, summary, text)
        return ExitCode.OK
    from fieldkit.cli.gui import NoDisplay

    try:
        from fieldkit.ui.app import display_available, run_app
    except ImportError as exc:
        raise DemoFailed(
            N_("The desktop app is not installed ({module} is missing)."),
            N_("Install fieldkit with its gui extra: pip install 'fieldkit[gui]'."),
            module=getattr(exc, "name", "PySide6") or "PySide6",
        ) from exc
    emit(args, summary, text)
    if not display_available():
        raise NoDisplay(
            N_("The demo is set up, but there is no display to open the app on."),
            N_(
                "Run it on a desktop, or without a screen under xvfb-run (xvfb-run make run), "
                "or render it offscreen with QT_QPA_PLATFORM=offscreen."
            ),
        )
    with running_server(paths, int(state["port"])):
        return run_app(Path(who["profile"]), PASSPHRASE, config)
