from rest_framework.routers import SimpleRouter

from incidents.api import views

router = SimpleRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("playbooks", views.PlaybookViewSet, basename="playbook")
router.register("exercises", views.ExerciseViewSet, basename="exercise")
router.register("followups", views.FollowUpViewSet, basename="followup")
router.register("learnings", views.LearningViewSet, basename="learning")

urlpatterns: list = [*router.urls]
