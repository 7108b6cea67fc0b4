from django.urls import path

from hygiene.views.pages import coming_soon

app_name = "assets"
urlpatterns = [path("", coming_soon, {"area": "inventory"}, name="list")]
