from django.urls import include, path

from accounts import views

urlpatterns = [
    path("account/tokens/", views.api_tokens, name="api-tokens"),
    path(
        "account/tokens/<int:token_id>/revoke/",
        views.api_token_revoke_view,
        name="api-token-revoke",
    ),
    path("accounts/", include("allauth.urls")),
]
