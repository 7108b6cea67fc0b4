import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from hygiene.models import ApiToken, Membership, Profile, Team, TeamFunction, TeamRole
from hygiene.roles import MEMBER

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if not create:
            return
        self.save()
        self.groups.add(Group.objects.get_or_create(name=extracted or MEMBER)[0])
        Profile.objects.get_or_create(user=self, defaults={"access_expires_at": kwargs.get("until")})


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")
    function = TeamFunction.RESEARCH


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    team = factory.SubFactory(TeamFactory)
    user = factory.SubFactory(UserFactory)
    role = TeamRole.MEMBER


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """A token with a known clear text, available as ``token.clear``."""

    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    team = None
    name = "CI pipeline"
    actions = factory.LazyFunction(lambda: ["read"])
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))
    prefix = "x"
    key_hash = "x"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        from hygiene.services.tokens import token_create

        token, clear = token_create(
            actor=kwargs["user"], name=kwargs["name"], team=kwargs["team"], actions=kwargs["actions"],
            expires_at=kwargs["expires_at"],
        )  # fmt: skip
        token.clear = clear
        return token
