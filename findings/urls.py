from django.urls import path

from hygiene.views.pages import coming_soon

app_name = "findings"
urlpatterns = [path("", coming_soon, {"area": "findings"}, name="list")]
