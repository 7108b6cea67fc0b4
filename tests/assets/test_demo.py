"""The demo inventory loads and shows inheritance, hiding and violations."""

import pytest

from assets.demo import seed_demo_data
from assets.models import Asset, PolicyRule, PolicyViolation
from hygiene.models import TeamRole
from tests.factories import MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_inventory_shows_inherited_restriction_and_violations():
    teams = {
        slug: TeamFactory(slug=slug, name=slug)
        for slug in ("data-engineering", "research", "platform", "product")
    }
    users = {name: UserFactory(username=name) for name in ("champion", "researcher", "engineer", "platform")}
    MembershipFactory(team=teams["research"], user=users["champion"], role=TeamRole.CHAMPION)

    seed_demo_data(teams=teams, users=users)

    image = Asset.objects.get(name="llm-serving")
    assert image.effective_classification.slug == "restricted"
    assert image.effective_source.name == "customer-support-conversations"
    rules = set(PolicyViolation.objects.values_list("rule", flat=True))
    assert rules == set(PolicyRule.values)
