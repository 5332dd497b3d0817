"""Project-wide promises: migrations committed, deploy checks clean, the demo seed idempotent,
the apps' modules of a readable size and free of import cycles."""

import ast
import os
import secrets
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client

from contrib.models import (
    Award,
    Bounty,
    Contribution,
    ContributionKind,
    Contributor,
    DocPage,
    DocRevision,
    HonorRoll,
    Issue,
    PullRequest,
    Sponsorship,
)

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_platform_folder_is_not_a_python_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
    import platform

    assert hasattr(platform, "python_version")  # the standard library's module


def test_no_model_change_lacks_a_migration() -> None:
    result = manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_check_is_clean_in_production_mode(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "crucible.example.org",
            "DEBUG": "false",
            # A database with no tables, as on a fresh machine before `migrate`.
            "CRUCIBLE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_seed_demo_builds_a_community_once(client: Client) -> None:
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    counts = (
        Contributor.objects.count(),
        Contribution.objects.count(),
        Issue.objects.count(),
        PullRequest.objects.count(),
    )
    assert counts[0] >= 30 and counts[1] >= 300 and counts[2] > 0 and counts[3] > 0
    assert set(Contribution.objects.values_list("kind", flat=True)) == set(ContributionKind.values)
    # A frozen honour roll for each past month of the demo's year, in every category.
    assert HonorRoll.objects.filter(period="month").count() == 12 * len(HonorRoll.Category.values)
    assert Award.objects.exists()
    assert sorted(Bounty.objects.values_list("state", flat=True)) == ["awarded", "open"]
    assert Sponsorship.objects.filter(privacy_level="public").count() == 1
    assert sorted(DocPage.objects.values_list("slug", flat=True)) == [
        "contributing",
        "how-evaluation-works",
    ]
    assert DocRevision.objects.filter(page__slug="contributing").count() == 2
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (
        Contributor.objects.count(),
        Contribution.objects.count(),
        Issue.objects.count(),
        PullRequest.objects.count(),
    ) == counts

    page = client.get("/")
    assert page.status_code == 200
    assert b"Top contributors" in page.content
    assert client.get("/healthz/").json() == {"status": "ok"}


# --- the house in order (issue 12): no module over 400 lines, no import cycle in an app ----------

MAX_MODULE_LINES = 400
# A program that must stay one file, and why. The worker is copied alone into the sandbox and
# started with `python -I`, which puts no folder of its own on sys.path: it can import only
# torch and the standard library, so splitting it would mean copying (and trusting) more files
# beside the submission. Never add a module here for convenience.
ONE_FILE_PROGRAMS = {
    "evaluation/engine/worker.py": "copied alone into the sandbox, run with python -I",
}


def _app_modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the project's own Django apps (migrations aside; `evaluation/agent/` and
    `evaluation/engine/` included): dotted name → (file, whether it is a package's __init__)."""
    found: dict[str, tuple[Path, bool]] = {}
    for config in apps.get_app_configs():
        folder = Path(config.path).resolve()
        if folder.parent != ROOT:
            continue  # Django's and third parties' apps (the virtualenv is under ROOT too)
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def test_no_app_module_is_over_400_lines() -> None:
    modules = _app_modules()
    assert "evaluation.agent.job" in modules and "contrib.models" in modules  # it sees them all
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path, _package in modules.values()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    unexpected = {path: n for path, n in too_long.items() if path not in ONE_FILE_PROGRAMS}
    assert not unexpected, f"split by topic (README, 'Where does my function go?'): {unexpected}"


def _load_time_imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    """The import statements a module runs when it is imported: at its top level and in the
    blocks there (if, try, with, a class body), not in functions (lazy imports run later) nor
    under `if TYPE_CHECKING:` (never run)."""
    found: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found += _load_time_imports(node.orelse)
            continue
        blocks = [getattr(node, field, []) for field in ("body", "orelse", "finalbody")]
        blocks += [handler.body for handler in getattr(node, "handlers", [])]
        for block in blocks:
            found += _load_time_imports(block)
    return found


def _import_graph(
    modules: dict[str, tuple[Path, bool]], read: Callable[[Path], str] = Path.read_text
) -> dict[str, set[str]]:
    """Module → the project modules that importing it runs first.

    `import a.b.c` and `from a.b.c import x` run `a`, `a.b` and `a.b.c` (each package's
    `__init__`); `from a.b import c` runs `a.b.c` too when `c` is a module. A module's own
    packages are already running when it is imported, so they are no edge, unless it takes a
    name that is not a module from one (it needs that `__init__` to have got that far)."""
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        own_package = name if package else name.rpartition(".")[0]
        parts = name.split(".")
        running = {".".join(parts[:i]) for i in range(1, len(parts) + (1 if package else 0))}
        targets: list[tuple[str, bool]] = []  # (module imported, whether all its names are needed)
        for node in _load_time_imports(ast.parse(read(path)).body):
            if isinstance(node, ast.Import):
                targets += [(alias.name, False) for alias in node.names]
                continue
            source = node.module or ""
            if node.level:  # relative: from its own package, or one above
                base = own_package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            submodules = [f"{source}.{alias.name}" for alias in node.names]
            submodules = [module for module in submodules if module in modules]
            targets.append((source, len(submodules) < len(node.names)))
            targets += [(module, False) for module in submodules]
        graph[name] = set()
        for target, needs_all in targets:
            pieces = target.split(".")
            for i in range(1, len(pieces) + 1):
                module = ".".join(pieces[:i])
                if module == name or module not in modules:
                    continue
                if module not in running or (needs_all and module == target):
                    graph[name].add(module)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_import_graph_sees_packages_and_submodules() -> None:
    sources = {
        "app": "",
        "app.a": "from app.pkg.b import thing\n",  # runs app.pkg (its __init__), then app.pkg.b
        "app.pkg": "from app.pkg import b\nfrom . import c\n",  # its own submodules: no cycle
        "app.pkg.b": "def later():\n    import app\nimport app.a\n",
        "app.pkg.c": "from app.pkg import name_in_init\n",  # needs app.pkg's __init__ done
    }
    modules = {name: (Path(name), name in ("app", "app.pkg")) for name in sources}
    graph = _import_graph(modules, read=lambda path: sources[str(path)])
    assert graph == {
        "app": set(),
        "app.a": {"app.pkg", "app.pkg.b"},
        "app.pkg": {"app.pkg.b", "app.pkg.c"},
        "app.pkg.b": {"app.a"},
        "app.pkg.c": {"app.pkg"},
    }
    assert _cycles(graph) == [["app.a", "app.pkg", "app.pkg.b", "app.pkg.c"]]


def test_no_import_cycle_between_modules_of_the_apps() -> None:
    """A cycle works or fails by which module is imported first (evaluation.contributing, first,
    once failed: services/__init__ ran jobs → runs → notify → publish → contributing). A task
    module's import of its service inside the task is not at load time, so it is allowed."""
    cycles = _cycles(_import_graph(_app_modules()))
    assert not cycles, f"modules that import each other at load time: {cycles}"


def test_a_module_imported_first_finds_what_it_imports() -> None:
    """The faithful check of the cycle above: a fresh interpreter with the app registry ready
    and nothing of the apps imported but their models (no `ready()`, no admin discovery),
    importing `evaluation.contributing` first."""
    script = (
        "import importlib, sys\n"
        "import django\n"
        "from django.apps import config\n"
        "create = config.AppConfig.create\n"
        "def bare(entry):\n"
        "    app = create(entry)\n"
        "    app.ready = lambda: None\n"
        "    return app\n"
        "config.AppConfig.create = staticmethod(bare)\n"
        "django.setup()\n"
        "assert 'evaluation.services' not in sys.modules\n"
        "importlib.import_module('evaluation.contributing')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
