from django.urls import path

from metrics import views

app_name = "metrics"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("teams/<slug:slug>/", views.team_view, name="team"),
    path("audit/", views.auditor_view, name="auditor"),
    path("compare/", views.compare, name="compare"),
    path("charts/<slug:key>.csv", views.chart_csv, name="chart-csv"),
]
