from django.urls import path

from metrics.api import views

urlpatterns: list = [
    path("metrics/", views.MetricListView.as_view(), name="api-metric-list"),
    path("metrics/<slug:key>/", views.MetricDetailView.as_view(), name="api-metric-detail"),
    path("metrics/<slug:key>/series/", views.MetricSeriesView.as_view(), name="api-metric-series"),
]
