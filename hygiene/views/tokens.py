from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from hygiene import selectors
from hygiene.forms import TokenForm
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.services import tokens as services


def _team_choices(request: HttpRequest) -> list[tuple[str, str]]:
    return [(team.slug, team.name) for team in selectors.team_list_for_user(user=request.user)]


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None, teams=_team_choices(request))
    created = None
    if request.method == "POST" and form.is_valid():
        slug = form.cleaned_data["team"]
        team = selectors.team_get_for_user(user=request.user, slug=slug) if slug else None
        try:
            token, created = services.token_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                team=team,
                actions=form.cleaned_data["actions"],
                expires_at=form.expires_at(),
            )
        except ValidationError as exc:
            add_validation_errors(form, exc)
        else:
            messages.success(
                request, f"Token “{token.name}” created. Copy it now: it will not be shown again."
            )
            form = TokenForm(teams=_team_choices(request))
    tokens = selectors.token_list_for_user(user=request.user)
    context = {"page": paginate(request, tokens), "form": form, "created": created}
    return render(request, "hygiene/token_list.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.token_get_for_user(user=request.user, pk=pk)
    services.token_revoke(actor=request.user, token=token)
    messages.success(request, f"Token “{token.name}” revoked; pipelines using it are refused from now on.")
    return redirect("tokens:list")
