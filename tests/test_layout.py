"""The house rules that keep the layers apart, and the deployments that schedule the flows."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# ``tests`` holds test-only code (the tiny argos package builder needs numpy and onnx, which
# the runtime install does not have): nothing that ships may import it. Channels import no
# Prefect, not even inside a function: Secret blocks are read through koho.secret_blocks.
FORBIDDEN = {
    "koho": {"channels", "translations", "flows", "tests"},
    "channels": {"flows", "tests", "prefect"},
    "translations": {"flows", "channels", "tests"},
    "flows": {"tests"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_dependency_direction_is_never_reversed():
    offences = []
    for package, banned in FORBIDDEN.items():
        for path in (REPO / package).rglob("*.py"):
            bad = imported_roots(path) & banned
            if bad:
                offences.append(f"{path.relative_to(REPO)} imports {sorted(bad)}")
    assert offences == []


#: What channels share (ADR 0021): every channel may import it; it imports no channel.
COMMON = "common"


def channel_imports(path: Path) -> set[str]:
    """The ``channels.<name>`` packages or modules a file imports (``import`` and ``from``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names if node.module == "channels"]
        found |= {m.split(".")[1] for m in modules if m.startswith("channels.")}
    return found


def test_channels_import_only_themselves_and_common():
    channels = REPO / "channels"
    names = {
        p.stem if p.is_file() else p.name
        for p in channels.iterdir()
        if (p.suffix == ".py" or p.is_dir()) and p.name not in ("__init__.py", "registry.py", "__pycache__")
    }
    assert COMMON in names
    offences = []
    for module in names:
        files = (
            [channels / f"{module}.py"] if (channels / f"{module}.py").exists() else (channels / module).rglob("*.py")
        )
        allowed = {module} if module == COMMON else {module, COMMON}
        for path in files:
            bad = channel_imports(path) - allowed
            if bad:
                offences.append(f"{path.relative_to(REPO)} imports channels.{', channels.'.join(sorted(bad))}")
    assert offences == []


def test_the_layering_rule_sees_what_it_must_refuse(tmp_path):
    # The rule above only holds if the scan finds every spelling of a channel import.
    source = tmp_path / "m.py"
    source.write_text("import channels.x.api\nfrom channels import line\nfrom channels.common.posts import ONCE\n")
    assert channel_imports(source) == {"x", "line", "common"}


def test_importing_koho_cli_loads_no_outer_layer():
    code = "import sys, koho.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('flows','channels')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_prefect_yaml_entrypoints_are_real_flows():
    from prefect.flows import load_flow_from_entrypoint

    config = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    names = {d["name"] for d in config["deployments"]}
    assert {"publish-due", "publish-article"} <= names
    for deployment in config["deployments"]:
        flow = load_flow_from_entrypoint(str(REPO / deployment["entrypoint"]))
        assert flow.name
    due = next(d for d in config["deployments"] if d["name"] == "publish-due")
    assert due["schedules"][0] == {"cron": "*/10 * * * *", "timezone": "Asia/Tokyo", "active": True}
