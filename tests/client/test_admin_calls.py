"""Tenants, keys and agents through the client."""

from uuid import uuid4

import pytest

from loopctl.client import AuthError, Client
from tests.client.conftest import QUICK, Live, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


def test_a_new_tenant_signs_up_and_changes_its_settings(live: Live) -> None:
    slug = f"t-{uuid4().hex[:8]}"
    with live.client(None) as anonymous:
        registered = anonymous.register_tenant("Client tenant", slug, email="ops@example.com")
    assert (registered.tenant.slug, registered.api_key.role) == (slug, "user")
    with live.client(registered.api_key.raw_key) as owner:
        assert owner.get_tenant().id == registered.tenant.id
        changed = owner.update_tenant(settings={"lease_ttl_seconds": 120})
        assert changed.settings["lease_ttl_seconds"] == 120


def test_keys_and_agents(live: Live, keys: Roles) -> None:
    name = f"agent-{uuid4().hex[:8]}"
    with live.client(keys.user) as user:
        agent = user.register_agent(name, agent_type="implementer", model="m1")
        assert user.get_agent(agent.id).model == "m1"
        implementers = user.list_agents(agent_type="implementer", limit=500).data
        assert agent.id in [a.id for a in implementers]
        created = user.create_api_key("bound", "agent", agent_id=agent.id)
        assert (created.agent_id, user.get_api_key(created.id).name) == (agent.id, "bound")
        assert created.id in [k.id for k in user.list_api_keys(role="agent", limit=500).data]
        rotated = user.rotate_api_key(created.id, grace_period_hours=0)
        assert rotated.old_key.id == created.id
        with Client(live.url, rotated.new_key.raw_key, retry=QUICK) as fresh:
            assert fresh.get_my_api_key().id == rotated.new_key.id
        assert user.revoke_api_key(rotated.new_key.id).status == "revoked"
        with Client(live.url, rotated.new_key.raw_key) as revoked, pytest.raises(AuthError):
            revoked.get_my_api_key()
