"""The domain rules are pure: each module imports only the standard library, the libraries
named here, and other pure rule modules (never Flask, SQLAlchemy or the models)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ALLOWED_IMPORTS = {
    "servicedesk.warranty.coverage": {
        "__future__", "collections.abc", "dataclasses", "datetime", "decimal", "typing",
    },
    "servicedesk.warranty.closing": {
        "__future__", "collections.abc", "dataclasses", "datetime", "decimal", "typing",
        "servicedesk.warranty.coverage",
    },
    "servicedesk.dispatch.rules": {
        "__future__", "collections.abc", "dataclasses", "decimal", "fractions", "math", "typing",
        "servicedesk.warranty.coverage",
    },
    "servicedesk.sla.levels": {
        "__future__", "collections.abc", "dataclasses", "datetime", "typing",
        "servicedesk.warranty.coverage",
    },
    "servicedesk.sla.calendar": {
        "__future__", "bisect", "dataclasses", "datetime", "functools", "holidays", "typing",
        "zoneinfo",
    },
    "servicedesk.sla.clock": {
        "__future__", "collections.abc", "dataclasses", "datetime", "servicedesk.sla.calendar",
    },
    "servicedesk.sla.targets": {
        "__future__", "collections.abc", "dataclasses", "datetime", "typing",
        "servicedesk.sla.calendar", "servicedesk.sla.levels",
    },
    "servicedesk.tickets.lifecycle": {
        "__future__", "collections.abc", "servicedesk.warranty.coverage",
    },
    "servicedesk.callcenter.caller_id": {
        "__future__", "collections.abc", "dataclasses", "servicedesk.customers.phones",
    },
    "servicedesk.stations.scorecard": {
        "__future__", "collections", "collections.abc", "dataclasses", "datetime", "fractions",
        "typing", "servicedesk.warranty.coverage",
    },
    "servicedesk.callcenter.callback_timing": {
        "__future__", "dataclasses", "datetime", "functools", "re", "zoneinfo",
        "servicedesk.sla.calendar",
    },
    "servicedesk.callcenter.survey": {
        "__future__", "collections.abc", "dataclasses", "typing", "servicedesk.warranty.coverage",
    },
    "servicedesk.auth.rules": {
        "__future__", "collections.abc", "dataclasses", "datetime", "math",
    },
}  # fmt: skip

MESSAGE_MODULES = [
    "servicedesk.warranty.coverage",
    "servicedesk.warranty.closing",
    "servicedesk.dispatch.rules",
    "servicedesk.stations.scorecard",
    "servicedesk.callcenter.survey",
]


def _tree(module_name: str) -> ast.Module:
    path = Path(importlib.import_module(module_name).__file__)
    return ast.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("module_name", "allowed"), ALLOWED_IMPORTS.items())
def test_module_is_pure_domain_code(module_name, allowed):
    imported = set()
    for node in ast.walk(_tree(module_name)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported <= allowed


@pytest.mark.parametrize("module_name", MESSAGE_MODULES)
def test_every_n_call_uses_a_string_literal(module_name):
    calls = [
        node
        for node in ast.walk(_tree(module_name))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"
    ]
    assert calls
    for call in calls:
        assert len(call.args) == 1
        assert isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)
