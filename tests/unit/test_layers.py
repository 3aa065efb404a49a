"""The layers of the project, as the README's map draws them: DaCHS and Twisted are reached from
dachs_ext/ only, private APIs from dachs_ext/compat.py only, and the product code below
(ingest/, datalink/, schemas/, search/) imports neither the DaCHS wing nor the instance."""

import ast
import os

import pytest

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIPPED_DIRS = {".git", "var", ".venv", ".venv-gammapy", "__pycache__", "artefacts"}
WING = "dachs_ext"
COMPAT = os.path.join(WING, "compat.py")
# DaCHS's documented hook of custom grammars (its reference documentation: "Custom Grammars").
DOCUMENTED_HOOKS = {"_iterRows"}
# Product code: plain Python, usable and tested without DaCHS, below the instance and the wing.
PRODUCT_PACKAGES = ("ingest", "datalink", "schemas", "synth", "search", "processing")


def project_modules():
    for dirpath, dirs, files in os.walk(PROJECT_ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(dirpath, name)
                yield os.path.relpath(path, PROJECT_ROOT), ast.parse(open(path, encoding="utf-8").read(), path)


MODULES = sorted(project_modules(), key=lambda m: m[0])


def imported(tree):
    """The top-level package of every import in a module (also those inside functions)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module.split(".")[0]


def test_the_scan_sees_the_project():
    paths = {path for path, _ in MODULES}
    assert {COMPAT, "ingest/observation.py", "instance/__init__.py"} <= paths


@pytest.mark.parametrize("path, tree", MODULES, ids=[m[0] for m in MODULES])
def test_only_the_wing_imports_dachs_or_twisted(path, tree):
    if path.startswith(WING + os.sep):
        return
    assert not {"gavo", "twisted"} & set(imported(tree)), f"{path} imports DaCHS or Twisted"


@pytest.mark.parametrize("path, tree", MODULES, ids=[m[0] for m in MODULES])
def test_private_apis_only_in_compat(path, tree):
    """No attribute with a leading underscore is reached on anything but self, cls or super(),
    and no class outside compat.py that extends another (DaCHS's) has an underscore method, but
    for DaCHS's documented hooks."""
    if path == COMPAT:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and getattr(owner.func, "id", None) == "super":
                continue
            pytest.fail(f"{path}:{node.lineno}: {ast.unparse(node)} is private")
        if isinstance(node, ast.ClassDef) and node.bases and path.startswith(WING + os.sep):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("_") \
                        and not item.name.startswith("__") and item.name not in DOCUMENTED_HOOKS:
                    pytest.fail(f"{path}:{item.lineno}: {node.name}.{item.name} overrides a"
                                " private method")


@pytest.mark.parametrize("path, tree", [m for m in MODULES if m[0].startswith(PRODUCT_PACKAGES)],
                         ids=[m[0] for m in MODULES if m[0].startswith(PRODUCT_PACKAGES)])
def test_product_code_stays_below_instance_and_wing(path, tree):
    assert not {"instance", WING, "rd"} & set(imported(tree)), path
