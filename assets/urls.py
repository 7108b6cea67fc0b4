from django.urls import path

from assets.views import classification, imports, inventory, lineage

app_name = "assets"
urlpatterns = [
    path("", inventory.asset_list, name="list"),
    path("new/", inventory.asset_create_view, name="create"),
    path("<int:pk>/", inventory.asset_detail, name="detail"),
    path("<int:pk>/edit/", inventory.asset_edit_view, name="edit"),
    path("<int:pk>/retire/", inventory.asset_retire_view, name="retire"),
    path("<int:pk>/lineage/add/", lineage.edge_add_view, name="edge-add"),
    path("lineage/<int:pk>/remove/", lineage.edge_remove_view, name="edge-remove"),
    path("<int:pk>/provenance/", lineage.provenance_view, name="provenance"),
    path("<int:pk>/transformations/add/", lineage.transformation_add_view, name="transformation-add"),
    path("classification/", classification.level_list_view, name="levels"),
    path("classification/new/", classification.level_create_view, name="level-create"),
    path("classification/<int:pk>/edit/", classification.level_edit_view, name="level-edit"),
    path("violations/", classification.violation_list_view, name="violations"),
    path("import/", imports.import_page, name="import"),
    path("import/bom/", imports.bom_import_view, name="import-bom"),
    path("import/csv/", imports.csv_import_view, name="import-csv"),
    path("import/template.csv", imports.csv_template_view, name="import-template"),
    path("export.csv", imports.export_csv_view, name="export-csv"),
    path("export.json", imports.export_json_view, name="export-json"),
]
