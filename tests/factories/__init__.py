from .hygiene import ApiTokenFactory, MembershipFactory, TeamFactory, UserFactory

__all__ = ["ApiTokenFactory", "MembershipFactory", "TeamFactory", "UserFactory"]
