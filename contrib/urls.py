from django.urls import path, re_path

from contrib import views

urlpatterns = [
    path("", views.home, name="home"),
    path("honors/", views.honor_roll, name="honors"),
    path("c/<str:login>/", views.contributor_profile, name="contributor"),
    path("issues/", views.issues, name="issues"),
    path("sponsors/", views.sponsors, name="sponsors"),
    path("docs/", views.docs_index, name="docs"),
    path("docs/new/", views.doc_edit, name="doc-new"),
    path("docs/<slug:slug>/", views.doc_page, name="doc"),
    path("docs/<slug:slug>/history/", views.doc_history, name="doc-history"),
    path("docs/<slug:slug>/edit/", views.doc_edit, name="doc-edit"),
    path("healthz/", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("badges/c/<str:login>.svg", views.badge_contributor, name="badge-contributor"),
    path("cards/c/<str:login>.png", views.card_contributor, name="card-contributor"),
    re_path(
        r"^contributors/wall\.(?P<kind>svg|md)$", views.contributors_wall, name="contributors-wall"
    ),
]
