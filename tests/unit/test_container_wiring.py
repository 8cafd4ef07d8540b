"""The composition roots wire every provider by keyword, and every keyword names a parameter of
what it provides, with every parameter that has no default given: a renamed or added
constructor argument fails here, not in a run (dependency-injector checks neither)."""

import inspect

import pytest
from dependency_injector import providers

from unet_defects.container import Container
from unet_defects.planner import Planning


def _wired(container_class) -> list[tuple[str, providers.Provider]]:
    """Every provider of the container that calls something: Selectors' options and the providers
    written inside another's arguments included."""
    found: list[tuple[str, providers.Provider]] = []
    seen: set[int] = set()

    def walk(name: str, provider: object) -> None:
        if id(provider) in seen:
            return
        seen.add(id(provider))
        if isinstance(provider, providers.Selector):
            walk(f"{name}.selector", provider.selector)
            for option, chosen in provider.providers.items():
                walk(f"{name}[{option}]", chosen)
        elif isinstance(provider, (providers.Factory, providers.Singleton, providers.Callable)):
            found.append((name, provider))
            for index, argument in enumerate(provider.args):
                walk(f"{name}.args[{index}]", argument)
            for key, argument in provider.kwargs.items():
                walk(f"{name}.{key}", argument)

    for name, provider in container_class.cls_providers.items():
        walk(name, provider)
    return found


@pytest.mark.parametrize("container_class", [Container, Planning], ids=["Container", "Planning"])
def test_every_provider_is_wired_by_keyword_to_its_callables_parameters(container_class):
    problems = []
    for name, provider in _wired(container_class):
        target = provider.provides
        if isinstance(target, providers.Provider):  # a provider of a provider: its own wiring is checked
            continue
        if provider.args:
            problems.append(f"{name}: {len(provider.args)} positional argument(s)")
        parameters = inspect.signature(target).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        unknown = sorted(set(provider.kwargs) - set(parameters)) if not takes_any else []
        missing = sorted(n for n, p in parameters.items()
                         if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                         and n not in provider.kwargs)
        if unknown:
            problems.append(f"{name}: {getattr(target, '__name__', target)} takes no {', '.join(unknown)}")
        if missing:
            problems.append(f"{name}: {getattr(target, '__name__', target)} needs {', '.join(missing)}")
    assert not problems, "\n".join(problems)
