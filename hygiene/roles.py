"""Global roles are Django groups with these names; team roles live on Membership."""

SECURITY_LEAD = "Security lead"
AUDITOR = "Auditor"
MEMBER = "Member"

GLOBAL_ROLES = (SECURITY_LEAD, AUDITOR, MEMBER)
