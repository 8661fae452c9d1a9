import pytest

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.app",
    "tests.fixtures.roles",
    "tests.fixtures.server",
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Imported here: at the top it would import the fixture plugins before pytest can
    # rewrite their asserts.
    from tests.fixtures.access import parametrize_routes  # noqa: PLC0415

    parametrize_routes(metafunc)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from tests.fixtures.access import deselect_not_applicable  # noqa: PLC0415

    deselect_not_applicable(config, items)
