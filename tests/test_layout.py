"""The house rules that keep the layers apart, and the deployments that schedule the flows."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# ``tests`` holds test-only code (the tiny argos package builder needs numpy and onnx, which
# the runtime install does not have): nothing that ships may import it.
FORBIDDEN = {
    "koho": {"channels", "translations", "flows", "tests"},
    "channels": {"flows", "tests"},
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


def test_no_channel_imports_another_channel():
    channels = REPO / "channels"
    names = {
        p.stem if p.is_file() else p.name
        for p in channels.iterdir()
        if (p.suffix == ".py" or p.is_dir()) and p.name not in ("__init__.py", "registry.py", "__pycache__")
    }
    for module in names:
        files = (
            [channels / f"{module}.py"]
            if (channels / f"{module}.py").exists()
            else list((channels / module).rglob("*.py"))
        )
        for path in files:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("channels."):
                    assert node.module.split(".")[1] == module, f"{path} imports {node.module}"


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
