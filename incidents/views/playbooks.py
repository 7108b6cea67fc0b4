"""Playbook pages (read by everyone signed in, written by security leads) and exercises."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from hygiene import selectors as hygiene_selectors
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.permissions import can_change, is_security_lead
from incidents import selectors
from incidents.forms import ExerciseForm, FollowUpForm, PlaybookForm, levels_as_text, steps_as_text
from incidents.services import exercise_record, followup_add, playbook_create, playbook_revise


@login_required
def playbook_list(request: HttpRequest) -> HttpResponse:
    playbooks = list(selectors.playbook_list())
    last = selectors.exercise_last_by_playbook_for_user(user=request.user)
    rows = [(playbook, last.get(playbook.pk)) for playbook in playbooks]
    context = {"rows": rows, "may_write": is_security_lead(request.user)}
    return render(request, "incidents/playbook_list.html", context)


@login_required
def playbook_detail(request: HttpRequest, slug: str) -> HttpResponse:
    playbook = selectors.playbook_get(slug=slug)
    number = request.GET.get("version", "")
    version = selectors.playbook_version_get(
        playbook=playbook, number=int(number) if number.isdigit() else None
    )
    context = {
        "playbook": playbook,
        "version": version,
        "versions": playbook.versions.order_by("-number"),
        "may_write": is_security_lead(request.user),
        "exercises": selectors.exercise_list_for_user(user=request.user, filters={"playbook": slug})[:10],
    }
    return render(request, "incidents/playbook_detail.html", context)


def _refuse_unless_lead(request: HttpRequest) -> HttpResponse | None:
    if is_security_lead(request.user):
        return None
    return render(
        request, "incidents/refused.html", {"reason": "Only security leads write playbooks."}, status=403
    )


@login_required
def playbook_create_view(request: HttpRequest) -> HttpResponse:
    refused = _refuse_unless_lead(request)
    if refused:
        return refused
    form = PlaybookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            playbook = playbook_create(
                actor=request.user,
                title=data["title"],
                categories=data["categories"],
                summary=data["summary"],
                steps=data["steps"],
                levels=data["levels"],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_validation_errors(
                form, exc if isinstance(exc, ValidationError) else ValidationError(str(exc))
            )
        else:
            messages.success(request, f"Playbook “{playbook.title}” created.")
            return redirect(playbook)
    return render(request, "incidents/playbook_form.html", {"form": form, "playbook": None})


@login_required
def playbook_edit_view(request: HttpRequest, slug: str) -> HttpResponse:
    refused = _refuse_unless_lead(request)
    if refused:
        return refused
    playbook = selectors.playbook_get(slug=slug)
    version = selectors.playbook_version_get(playbook=playbook)
    initial = {
        "title": playbook.title,
        "categories": playbook.categories,
        "summary": version.summary,
        "steps": steps_as_text(version),
        "levels": levels_as_text(version),
    }
    form = PlaybookForm(request.POST or None, initial=initial)
    form.fields["change_note"].required = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            new = playbook_revise(
                actor=request.user,
                playbook=playbook,
                summary=data["summary"],
                steps=data["steps"],
                levels=data["levels"],
                change_note=data["change_note"],
                title=data["title"],
                categories=data["categories"],
            )
        except (ValidationError, PermissionDenied) as exc:
            add_validation_errors(
                form, exc if isinstance(exc, ValidationError) else ValidationError(str(exc))
            )
        else:
            messages.success(
                request,
                f"Version {new.number} is now current; checklists already running keep their version.",
            )
            return redirect(playbook)
    return render(request, "incidents/playbook_form.html", {"form": form, "playbook": playbook})


# ---- exercises ------------------------------------------------------------------------------------------


def _exercise_teams(user: Any) -> list[tuple[str, str]]:
    return [
        (team.slug, team.name)
        for team in hygiene_selectors.team_list_for_user(user=user)
        if can_change(user, team, team_id=team.pk)
    ]


@login_required
def exercise_list(request: HttpRequest) -> HttpResponse:
    teams = {team.pk: team for team in hygiene_selectors.team_list_for_user(user=request.user)}
    last_by_team = selectors.exercise_last_by_team_for_user(user=request.user)
    context = {
        "page": paginate(
            request, selectors.exercise_list_for_user(user=request.user, filters=request.GET.dict())
        ),
        "team_rows": [(team, last_by_team.get(pk)) for pk, team in teams.items()],
        "may_record": bool(_exercise_teams(request.user)),
    }
    return render(request, "incidents/exercise_list.html", context)


@login_required
def exercise_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exercise = selectors.exercise_get_for_user(user=request.user, pk=pk)
    may_change = can_change(request.user, exercise, team_id=exercise.team_id)
    context = {
        "exercise": exercise,
        "participants": exercise.participants.order_by("username"),
        "followups": selectors.followups_for_exercise(exercise=exercise),
        "may_change": may_change,
        "today": timezone.localdate(),
        "followup_form": FollowUpForm(owners=_team_people(exercise.team_id)) if may_change else None,
    }
    return render(request, "incidents/exercise_detail.html", context)


def _team_people(team_id: int) -> list[tuple[int, str]]:
    from hygiene.models import Membership

    rows = Membership.objects.filter(team_id=team_id, user__is_active=True).select_related("user")
    return [(m.user_id, m.user.get_username()) for m in rows.order_by("user__username")]


@login_required
def exercise_followup_view(request: HttpRequest, pk: int) -> HttpResponse:
    exercise = selectors.exercise_get_for_user(user=request.user, pk=pk)
    form = FollowUpForm(request.POST or None, owners=_team_people(exercise.team_id))
    if request.method == "POST":
        if form.is_valid():
            owner = get_user_model().objects.filter(pk=form.cleaned_data["owner"]).first()
            try:
                followup_add(
                    actor=request.user,
                    exercise=exercise,
                    title=form.cleaned_data["title"],
                    owner=owner,
                    due_on=form.cleaned_data["due_on"],
                )
            except (ValidationError, PermissionDenied) as exc:
                for message in getattr(exc, "messages", [str(exc)]):
                    messages.error(request, message)
            else:
                messages.success(request, "Follow-up action added; its owner was told.")
        else:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
    return redirect(exercise)


@login_required
def exercise_create_view(request: HttpRequest) -> HttpResponse:
    teams = _exercise_teams(request.user)
    if not teams:
        reason = "Only a team's security champion or lead, or a security lead, records exercises."
        return render(request, "incidents/refused.html", {"reason": reason}, status=403)
    playbooks = [(p.slug, p.title) for p in selectors.playbook_list().filter(current_version__isnull=False)]
    form = ExerciseForm(request.POST or None, teams=teams, playbooks=playbooks)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        users = get_user_model().objects.filter(is_active=True)
        names = form.participant_names()
        found = {
            u.get_username(): u
            for u in users.filter(username__in=names + [row[1] for row in data["followups"]])
        }
        missing = [name for name in names if name not in found]
        missing += [row[1] for row in data["followups"] if row[1] not in found]
        if missing:
            form.add_error(None, f"Nobody active is named {', '.join(sorted(set(missing)))}.")
        else:
            try:
                exercise = _record_with_followups(request, data, found, names)
            except (ValidationError, PermissionDenied) as exc:
                add_validation_errors(
                    form, exc if isinstance(exc, ValidationError) else ValidationError(str(exc))
                )
            else:
                messages.success(request, "Exercise recorded.")
                return redirect(exercise)
    return render(request, "incidents/exercise_form.html", {"form": form})


def _record_with_followups(
    request: HttpRequest, data: dict[str, Any], people: dict[str, Any], names: list[str]
) -> Any:
    from django.db import transaction

    from hygiene.models import Team
    from incidents.models import Playbook

    with transaction.atomic():
        exercise = exercise_record(
            actor=request.user,
            team=Team.objects.get(slug=data["team"]),
            playbook=Playbook.objects.get(slug=data["playbook"]),
            kind=data["kind"],
            held_on=data["held_on"],
            scenario=data["scenario"],
            participant_ids=[people[name].pk for name in names],
            gaps_found=data["gaps_found"],
        )
        for due, owner, title in data["followups"]:
            followup_add(actor=request.user, exercise=exercise, title=title, owner=people[owner], due_on=due)
    return exercise
