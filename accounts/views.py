from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import ApiTokenForm
from accounts.selectors import api_token_get_for_user, api_tokens_of
from accounts.services import api_token_create, api_token_revoke


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens: create one (its key shown once), see and revoke them."""
    user = request.user
    assert user.is_authenticated
    new_key = ""
    form = ApiTokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            _token, new_key = api_token_create(user=user, name=form.cleaned_data["name"])
            form = ApiTokenForm()
            status = 201
        else:
            status = 400
    context = {"form": form, "new_key": new_key, "tokens": api_tokens_of(user=user)}
    return render(request, "accounts/tokens.html", context, status=status)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    user = request.user
    assert user.is_authenticated
    token = api_token_get_for_user(user=user, token_id=token_id)
    if token is None:
        raise Http404("no such token")
    api_token_revoke(token=token, revoked_by=user)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api-tokens")
