"""Construction: from the environment with the CLI's precedence; nothing of the server imported."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from loopctl.api_keys.schemas import ApiKey
from loopctl.audit.schemas import AuditEntry
from loopctl.changes import schemas as change_schemas
from loopctl.client import AsyncClient, Client, ConfigurationError, config, feed_calls
from loopctl.client import models as client_models
from loopctl.client.sources import LOCAL_KEY
from loopctl.database.embedded import LOCAL_KEY as SERVER_LOCAL_KEY
from loopctl.tenants import schemas as server_schemas
from tests.client.conftest import Live, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


def _me(env: dict[str, str]) -> tuple[ApiKey, str | None]:
    with Client.from_env(env) as client:
        return client.get_my_api_key(), client.key_source


def test_the_first_key_variable_set_wins(live: Live, keys: Roles, tmp_path: Path) -> None:
    base = {"LOOPCTL_SERVER": live.url, "LOOPCTL_DATA_DIR": str(tmp_path)}
    me, source = _me({**base, "LOOPCTL_AGENT_KEY": keys.agent})
    assert (me.role, source) == ("agent", "LOOPCTL_AGENT_KEY")
    both = {**base, "LOOPCTL_AGENT_KEY": keys.agent, "LOOPCTL_API_KEY": keys.orchestrator}
    me, source = _me(both)
    assert (me.role, source) == ("orchestrator", "LOOPCTL_API_KEY")


def test_the_local_server_and_its_saved_key(live: Live) -> None:
    env = {
        "LOOPCTL_PORT": live.url.rsplit(":", 1)[1],
        "LOOPCTL_DATA_DIR": str(live.server.data_dir),
    }
    with Client.from_env(env) as client:
        assert (client.server.source, client.server.url) == ("LOOPCTL_PORT", live.url)
        assert client.key_source == str(live.server.data_dir / LOCAL_KEY)
        assert client.get_my_api_key().role == "user"
        assert live.user_key not in repr(client)


async def test_the_async_client_reads_the_environment_too(live: Live, keys: Roles) -> None:
    env = {"LOOPCTL_SERVER": live.url, "LOOPCTL_ORCH_KEY": keys.orchestrator}
    async with AsyncClient.from_env(env) as client:
        assert client.key_source == "LOOPCTL_ORCH_KEY"
        assert (await client.get_my_api_key()).role == "orchestrator"


def test_a_profile_gives_server_key_and_project_below_the_environment(
    live: Live, keys: Roles, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'default_profile = "p"\n[profiles.p]\nserver = "{live.url}"\n'
        f'api_key = "{keys.agent}"\nproject = "shop"\n'
    )
    config.chmod(0o600)
    base = {"LOOPCTL_CONFIG": str(config), "LOOPCTL_DATA_DIR": str(tmp_path)}
    with Client.from_env(base) as client:
        assert (client.server.url, client.default_project) == (live.url, "shop")
        assert client.key_source == f"profile p ({config})"
        assert client.get_my_api_key().role == "agent"
        assert keys.agent not in repr(client)
    above = {**base, "LOOPCTL_ORCH_KEY": keys.orchestrator, "LOOPCTL_PROJECT": "other"}
    with Client.from_env(above) as client:
        assert (client.key_source, client.default_project) == ("LOOPCTL_ORCH_KEY", "other")
    config.chmod(0o660)
    with pytest.raises(ConfigurationError) as refused:
        Client.from_env(base)
    assert refused.value.code == "unsafe_config"


def test_request_calls_any_endpoint(live: Live, keys: Roles) -> None:
    with Client(live.url, keys.agent) as client:
        assert client.request("GET", "api_keys/me")["data"]["role"] == "agent"
        assert client.request("get", "/api/v1/tenants/me")["data"]["slug"] == "local"
        assert client.request("GET", "/health")["status"] == "ok"


def test_a_bad_server_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as raised:
        Client.from_env({"LOOPCTL_SERVER": "ftp://nowhere"})
    assert raised.value.code == "bad_server_url"
    with pytest.raises(ConfigurationError):
        Client("localhost:4000")


def test_the_client_models_mirror_the_server_schemas() -> None:
    for name in ("Tenant", "TenantLimits", "TenantRegistered"):
        mine = getattr(client_models, name).model_fields
        theirs = getattr(server_schemas, name).model_fields
        assert list(mine) == list(theirs), name
    assert list(client_models.AuditEntry.model_fields) == list(AuditEntry.model_fields)
    for name in ("ChangeEvent", "FeedMeta", "FeedPage"):
        mine = getattr(feed_calls, name).model_fields
        assert list(mine) == list(getattr(change_schemas, name).model_fields), name
    assert LOCAL_KEY == SERVER_LOCAL_KEY


def test_importing_the_client_loads_no_database_code() -> None:
    probe = (
        "import sys, loopctl.client; "
        "print(sorted(m for m in sys.modules if m.startswith(('psycopg', 'loopctl.database', "
        "'fastapi', 'sqlalchemy', 'typer'))))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"


def test_the_config_file_keeps_any_text_a_profile_holds(tmp_path: Path) -> None:
    # JSON alone would write 🚀 as a surrogate pair, which TOML refuses, and leave DEL bare.
    odd = 'Shop 🚀 é "q" \\ \n\t\x7f end'
    written = config.Config(tmp_path / "c.toml", odd, {odd: {"project": odd}})
    read = tomllib.loads(config.dumps(written))
    assert read == {"default_profile": odd, "profiles": {odd: {"project": odd}}}
