"""The home page is the metrics overview; the root URLconf includes this by name so the core package
does not import the metrics app."""

from django.urls import path

from metrics import views

urlpatterns = [path("", views.overview, name="home")]
