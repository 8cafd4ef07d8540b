"""Every port (a typing.Protocol of application/) has a user and a fake.

A user: a use case's constructor or a function of application/ that takes the port (by its
annotation). A fake: a class of unet_defects.adapters.fakes, exported there, named Fake<Port>
or listed in OTHER_FAKES, that has every member of the port with a compatible signature. A new
port without either fails here; so does a port whose last user went.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import typing
from pathlib import Path

import attrs
import pytest

import unet_defects.adapters.fakes as fakes
import unet_defects.application as application
import unet_defects.domain as domain

# Ports whose fake is not called Fake<Port>: it records or keeps what it is given.
OTHER_FAKES = {
    "ResultStore": fakes.InMemoryArtifactStore,
    "PredictionWriter": fakes.InMemoryArtifactStore,
    "TrainingObserver": fakes.RecordingObserver,
    "ChartRenderer": fakes.RecordingRenderer,
    "InferenceEngine": fakes.FakeEngine,
    "DatasetSurvey": fakes.FakeSurvey,
    "PlanWriter": fakes.KeptPlanWriter,
}
# Protocols that describe a value crossing a port, not a port: no use case takes one and no
# fake stands in for one; the application class named here is what the adapters are given.
VALUE_PROTOCOLS = {
    "EvaluationResultLike": "EvaluationResult",
}


def _modules(package):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        yield importlib.import_module(info.name)


def _protocols(package=application) -> dict[str, type]:
    found = {}
    for module in _modules(package):
        for name, value in vars(module).items():
            if (inspect.isclass(value) and value.__module__ == module.__name__ and typing.Protocol in value.__bases__):
                found[name] = value
    return found


PROTOCOLS = _protocols()
PORTS = sorted(set(PROTOCOLS) - set(VALUE_PROTOCOLS))


def _takers() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Protocol name -> `module.function(parameter)` of every function of application/ with a
    parameter annotated with it: (the use cases' and functions', the protocols' own methods')."""
    users: dict[str, list[str]] = {name: [] for name in PROTOCOLS}
    in_ports: dict[str, list[str]] = {name: [] for name in PROTOCOLS}
    for path in sorted(Path(application.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        protocol_bodies = {id(node) for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef)
                           and any(ast.unparse(base).endswith("Protocol") for base in cls.bases) for node in cls.body}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            found = in_ports if id(node) in protocol_bodies else users
            for argument in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
                annotation = "" if argument.annotation is None else ast.unparse(argument.annotation)
                for name in PROTOCOLS:
                    if re.search(rf"\b{name}\b", annotation):
                        found[name].append(f"{path.stem}.{node.name}({argument.arg})")
    return users, in_ports


USERS, TAKEN_BY_PORTS = _takers()


def fake_of(port: str) -> type | None:
    return OTHER_FAKES.get(port) or getattr(fakes, f"Fake{port}", None)


def _members(protocol: type) -> tuple[dict[str, inspect.Signature], set[str]]:
    """(methods by name with their signatures, data members: annotated names and properties)."""
    methods, data = {}, set()
    for klass in protocol.__mro__:
        if klass in (typing.Protocol, typing.Generic, object):
            continue
        data |= {name for name in vars(klass).get("__annotations__", {}) if not name.startswith("_")}
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(value, property):
                data.add(name)
            elif inspect.isfunction(value):
                methods.setdefault(name, inspect.signature(value))
    return methods, data


def test_the_ports_are_found():
    assert len(PORTS) >= 25
    assert {"Components", "EngineTimer", "ResultStore", "PredictionWriter", "MachineProbe", "StepTimer"} <= set(PORTS)


@pytest.mark.parametrize("port", PORTS)
def test_every_port_has_a_user_in_the_application(port):
    assert USERS[port], f"{port}: no use case or function of application/ takes it (drop the port or use it)"


@pytest.mark.parametrize("port", PORTS)
def test_every_port_has_an_exported_fake_with_its_members(port):
    fake = fake_of(port)
    assert fake is not None, (f"{port}: no fake in unet_defects.adapters.fakes (write Fake{port}, or name "
                              f"its fake in OTHER_FAKES)")
    assert fake.__module__.startswith("unet_defects.adapters.fakes."), fake.__module__
    assert fake.__name__ in fakes.__all__, f"{fake.__name__}: not exported from unet_defects.adapters.fakes"
    methods, data = _members(PROTOCOLS[port])
    assert methods or data, f"{port}: a port without members"
    source = inspect.getsource(fake)
    for name in sorted(data):
        assert hasattr(fake, name) or f"self.{name} =" in source or f"self.{name}," in source, (
            f"{fake.__name__} has no {name!r} ({port})")
    for name, wanted in methods.items():
        assert callable(getattr(fake, name, None)), f"{fake.__name__} has no method {name!r} ({port})"
        given = list(inspect.signature(getattr(fake, name)).parameters.values())
        expected = list(wanted.parameters.values())
        assert len(given) >= len(expected), f"{fake.__name__}.{name}: fewer parameters than {port}.{name}"
        for have, want in zip(given, expected):
            assert (have.name, have.kind) == (want.name, want.kind), f"{fake.__name__}.{name}: {have} for {want}"
            if want.default is not inspect.Parameter.empty:
                assert have.default is not inspect.Parameter.empty, f"{fake.__name__}.{name}: {have} needs a default"
        for extra in given[len(expected):]:
            assert extra.default is not inspect.Parameter.empty, f"{fake.__name__}.{name}: extra {extra} needs a default"


# Ports that are roles of one adapter (FileArtifactStore writes a run's results and predict's
# files), so one fake plays them all.
ROLES_OF_ONE_ADAPTER = ({"ResultStore", "PredictionWriter"},)


def test_other_fakes_name_ports_that_exist_and_fakes_stand_for_one_port_each():
    assert set(OTHER_FAKES) <= set(PORTS)
    shared = {port: min(roles) for roles in ROLES_OF_ONE_ADAPTER for port in roles}
    chosen = {shared.get(port, port): fake_of(port) for port in PORTS}
    assert len(set(chosen.values())) == len(chosen)


@pytest.mark.parametrize("name", sorted(VALUE_PROTOCOLS))
def test_value_protocols_are_what_a_port_takes_and_the_application_gives(name):
    implementation = VALUE_PROTOCOLS[name]
    defined = [vars(module)[implementation] for module in _modules(application) if implementation in vars(module)
               and getattr(vars(module)[implementation], "__module__", "") == module.__name__]
    assert len(defined) == 1, f"{implementation}: not one class of application/ ({len(defined)} found)"
    given = defined[0]
    methods, data = _members(PROTOCOLS[name])
    fields = {field.name for field in attrs.fields(given)} if attrs.has(given) else set()
    for member in [*methods, *data]:
        assert hasattr(given, member) or member in fields, f"{implementation}: no {member!r} ({name})"
    assert TAKEN_BY_PORTS[name], f"{name}: no port takes it"


@pytest.mark.parametrize("name", sorted(_protocols(domain)))
def test_a_domain_protocol_is_part_of_an_application_port(name):
    """The domain may name what it needs of a port (a Decision needs two of Components' methods);
    the port's adapters and fake then serve it too."""
    methods, data = _members(_protocols(domain)[name])
    wider = [port for port in PORTS if set(methods) | data <= set(_members(PROTOCOLS[port])[0]) | _members(PROTOCOLS[port])[1]]
    assert wider, f"domain's {name}: no port of application/ holds its members {sorted(set(methods) | data)}"
