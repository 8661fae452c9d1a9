"""The whole story loop through the sync client, and the plan around it, against a live server."""

from uuid import uuid4

import pytest

from loopctl.client import Client, ConflictError
from tests.client.conftest import Live, Roles

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]

CRITERIA = [{"criterion": "a card payment succeeds"}, {"criterion": "a declined card errors"}]


def _plan(orch: Client, slug: str) -> tuple[str, str, str, str]:
    """A project with one epic and two stories, 1.2 depending on 1.1: their ids."""
    project = orch.create_project("Client loop", slug, description="through loopctl.client")
    epic = orch.create_epic(project.id, 1, "Checkout")
    first = orch.create_story(epic.id, "1.1", "Pay by card", acceptance_criteria=CRITERIA)
    second = orch.create_story_in_project(project.id, 1, "1.2", "Refund", estimated_hours=2)
    return str(project.id), str(epic.id), str(first.id), str(second.id)


def test_the_plan_reads_back_through_every_listing(live: Live, keys: Roles) -> None:
    slug = f"plan-{uuid4().hex[:8]}"
    with live.client(keys.orchestrator) as orch, live.client(keys.user) as user:
        project, epic, first, second = _plan(orch, slug)
        edge = user.add_story_dependency(second, first)
        assert [p.slug for p in orch.list_projects(limit=500).data].count(slug) == 1
        assert orch.get_project(project).slug == slug
        assert orch.update_project(project, description="changed").description == "changed"
        assert [e.number for e in orch.list_epics(project).data] == [1]
        assert orch.get_epic(epic).title == "Checkout"
        assert orch.update_epic(epic, title="Checkout flow").title == "Checkout flow"
        stories = orch.list_stories(project_id=project)
        assert (stories.meta.total, [s.number for s in stories.data]) == (2, ["1.1", "1.2"])
        assert [s.number for s in orch.list_epic_stories(epic).data] == ["1.1", "1.2"]
        assert orch.update_story(second, title="Refund a card").title == "Refund a card"
        assert [d.id for d in orch.list_story_dependencies(epic).data] == [edge.id]
        assert [str(s.id) for s in orch.ready(project_id=project).data] == [first]
        assert [str(s.id) for s in orch.blocked(project_id=project).data] == [second]
        graph = orch.dependency_graph(project)
        assert (len(graph.stories), len(graph.story_dependencies)) == (2, 1)
        path = orch.critical_path(project)
        assert [str(s.id) for s in path.stories] == [first, second]
        assert orch.project_progress(project).total_stories == 2
        assert orch.epic_progress(epic).total_stories == 2
        assert orch.get_story(second).title == "Refund a card"
        assert user.remove_story_dependency(edge.id).id == edge.id
        assert orch.list_epic_dependencies(project).meta.total == 0


def test_export_then_import_into_a_new_project_round_trips(live: Live, keys: Roles) -> None:
    with live.client(keys.orchestrator) as orch:
        project, _, _, _ = _plan(orch, f"exp-{uuid4().hex[:8]}")
        document = orch.export_project(project)
        copy = orch.create_project("Copy", f"copy-{uuid4().hex[:8]}")
        preview = orch.import_project(copy.id, document, dry_run=True)
        assert (preview.dry_run, preview.stories.created) == (True, 2)
        assert orch.list_stories(project_id=copy.id).meta.total == 0
        report = orch.import_project(copy.id, document)
        assert (report.dry_run, report.epics.created, report.stories.created) == (False, 1, 2)
        numbers = [s.number for s in orch.list_stories(project_id=copy.id).data]
        assert numbers == ["1.1", "1.2"]


def test_the_implementer_and_verifier_loop(live: Live, keys: Roles) -> None:
    with (
        live.client(keys.orchestrator) as orch,
        live.client(keys.agent) as agent,
        live.client(keys.user) as user,
    ):
        project, epic, first, _ = _plan(orch, f"loop-{uuid4().hex[:8]}")
        claimed = agent.claim_next(project_id=project)
        assert str(claimed.id) == first
        assert [c["id"] for c in claimed.acceptance_criteria] == ["AC-1", "AC-2"]
        assert claimed.lease is not None
        token = claimed.lease.token
        assert agent.start(first, lease_token=token).agent_status == "implementing"
        assert agent.heartbeat(first, lease_token=token).lease is not None
        handed = agent.request_review(first, lease_token=token)
        assert handed.review_requested_at is not None
        with pytest.raises(ConflictError) as refused:
            agent.report(first)
        assert refused.value.code == "self_report_blocked"
        artifact = {"artifact_type": "commit", "path": "abc1234"}
        assert orch.report(first, artifact=artifact).agent_status == "reported_done"
        review = orch.review_complete(first, "code", findings_count=1, fixes_count=1)
        assert review.review_type == "code"
        verdict = [
            {"id": "AC-1", "result": "passed", "evidence": "pytest -k card: 4 passed"},
            {"id": "AC-2", "result": "passed", "evidence": "pytest -k declined: 2 passed"},
        ]
        verified = orch.verify(first, criteria=verdict, summary="both hold")
        assert verified.verified_status == "verified"
        criteria = agent.acceptance_criteria(first).data
        assert [(c.id, c.result) for c in criteria] == [("AC-1", "passed"), ("AC-2", "passed")]
        assert [v.result for v in orch.list_verifications(first).data] == ["pass"]
        added = agent.add_artifact(first, "test_report", "reports/pay.xml")
        paths = [a.path for a in agent.list_artifacts(first).data]
        assert paths == ["abc1234", added.path] or sorted(paths) == sorted(["abc1234", added.path])
        # The second story: contract, claim, unclaim; then taken back. Work loopctl has seen
        # cannot be backfilled (no laundering through force-unclaim).
        second = orch.list_epic_stories(epic, agent_status="pending").data[0]
        assert agent.contract(second.id, story_title=second.title, ac_count=0).agent_status == (
            "contracted"
        )
        lease = agent.claim(second.id).lease
        assert lease is not None
        assert agent.unclaim(second.id, lease_token=lease.token).agent_status == "pending"
        agent.claim_next(epic_id=epic)
        assert orch.force_unclaim(second.id).agent_status == "pending"
        with pytest.raises(ConflictError) as refused:
            user.backfill(second.id, "done before loopctl", evidence="PR 12 merged")
        assert refused.value.code == "invalid_transition"
        assert user.delete_story(second.id).id == second.id


def test_reject_bulk_and_verify_all(live: Live, keys: Roles) -> None:
    with live.client(keys.orchestrator) as orch, live.client(keys.agent) as agent:
        project, epic, first, second = _plan(orch, f"bulk-{uuid4().hex[:8]}")
        agent.contract(first, story_title="Pay by card", ac_count=2)
        claims = agent.bulk_claim([first])
        assert (claims.meta.succeeded, claims.data[0].status) == (1, "success")
        agent.start(first)
        orch.report(first)
        orch.review_complete(first, "code")
        rejected = orch.reject(first, "AC-2 fails", criteria=[{"id": "AC-2", "result": "failed"}])
        assert (rejected.verified_status, rejected.agent_status) == ("rejected", "pending")
        refused = orch.bulk_verify([{"story_id": first}, {"story_id": second}])
        assert (refused.meta.succeeded, refused.meta.failed) == (0, 2)
        assert orch.bulk_reject([{"story_id": second, "reason": "no"}]).meta.failed == 1
        result = orch.verify_all(epic)
        assert (result.verified_count, result.total_eligible) == (0, 0)
        with live.client(keys.user) as user:
            marked = user.bulk_mark_complete(
                [{"story_id": second, "reason": "old work", "evidence": "shipped in v1"}]
            )
            assert marked.meta.succeeded == 1
            assert user.delete_epic(epic, force=True).id.hex == epic.replace("-", "")
            assert user.archive_project(project).status == "archived"
