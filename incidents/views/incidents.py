"""Incident pages: report (from the header), the list with filters and exports, an incident, its actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hygiene import selectors as hygiene_selectors
from hygiene.lib.forms import add_validation_errors
from hygiene.lib.pagination import paginate
from hygiene.lib.redirects import safe_next
from hygiene.models import Team
from hygiene.permissions import can_contribute, is_auditor
from hygiene.services.exports import export_stream
from incidents import selectors
from incidents.forms import (
    AddAssetsForm,
    CommanderForm,
    CorrectTimeForm,
    FilterForm,
    FollowUpForm,
    LinkFindingForm,
    NoteForm,
    ReportForm,
    ReviewForm,
    StartPlaybookForm,
    TransitionForm,
)
from incidents.models import ChecklistItem, Incident, Status
from incidents.services import (
    checklist_item_complete,
    followup_add,
    followup_complete,
    incident_add_assets,
    incident_add_note,
    incident_correct_time,
    incident_grant,
    incident_link_finding,
    incident_report,
    incident_set_commander,
    incident_transition,
    playbook_start,
    review_preview,
    review_publish,
    review_save,
)
from incidents.services.incidents import STATUS_ORDER, user_by_id

FINDING_SEARCH_LIMIT = 10


def _team_choices(user: Any) -> list[tuple[str, str]]:
    return [(team.slug, team.name) for team in hygiene_selectors.team_list_for_user(user=user)]


def _reportable_teams(user: Any) -> list[Team]:
    return [
        team
        for team in hygiene_selectors.team_list_for_user(user=user)
        if can_contribute(user, team_id=team.pk)
    ]


def _report_messages(request: HttpRequest, error: Exception) -> None:
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error) or "You may not do that.")


@login_required
def incident_report_view(request: HttpRequest) -> HttpResponse:
    teams = _reportable_teams(request.user)
    if not teams:
        reason = (
            "Auditors read incidents but do not report them."
            if is_auditor(request.user)
            else "You belong to no team, so there is no team to report an incident for. Ask a team lead or a"
            " security lead to add you to your team."
        )
        return render(request, "incidents/refused.html", {"reason": reason}, status=403)
    form = ReportForm(request.POST or None, teams=[(team.slug, team.name) for team in teams])
    if request.method == "POST" and form.is_valid():
        team = next(team for team in teams if team.slug == form.cleaned_data["team"])
        asset_ids, errors = selectors.assets_by_names_for_user(
            user=request.user, names=form.asset_names(), team_id=team.pk
        )
        for error in errors:
            form.add_error("assets", error)
        if not errors:
            try:
                incident = incident_report(
                    actor=request.user,
                    team=team,
                    title=form.cleaned_data["title"],
                    category=form.cleaned_data["category"],
                    severity=form.cleaned_data["severity"],
                    description=form.cleaned_data["description"],
                    occurred_at=form.cleaned_data["occurred_at"],
                    detected_at=form.cleaned_data["detected_at"],
                    asset_ids=asset_ids,
                )
            except ValidationError as exc:
                add_validation_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, f"{incident.reference} reported. The team's champion and lead were told."
                )
                sensitivity = selectors.level_sensitivity(
                    selectors.highest_level(incident=incident), threshold=selectors.confidential_rank()
                )
                if sensitivity == "confidential":
                    messages.warning(request, f"{incident.reference} touches confidential data.")
                if incident.is_restricted:
                    messages.warning(
                        request,
                        f"{incident.reference} touches restricted data, so it is restricted too: only"
                        f" {team.name}, security leads and people granted it by name can see it.",
                    )
                return redirect(incident)
    options = selectors.asset_options_for_report(user=request.user)
    context = {
        "form": form,
        "asset_options": options,
        "next": safe_next(request, ""),
    }
    return render(request, "incidents/report.html", context)


@login_required
def incident_list(request: HttpRequest) -> HttpResponse:
    teams = list(hygiene_selectors.team_list_for_user(user=request.user))
    form = FilterForm(request.GET or None, teams=[(team.slug, team.name) for team in teams])
    filters = form.filters()
    incidents = selectors.incident_list_for_user(user=request.user, filters=filters)
    counts = selectors.incident_counts_for_user(user=request.user, filters=filters)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        # The counts per status (shown above the list) already say how many rows match: no second COUNT.
        "page": paginate(request, incidents, count=selectors.incident_total(counts=counts, filters=filters)),
        "counts": counts,
        "statuses": Status.choices,
        "query": query.urlencode(),
        "may_report": any(can_contribute(request.user, team_id=team.pk) for team in teams),
    }
    return render(request, "incidents/list.html", context)


def _export(request: HttpRequest, export_format: str) -> HttpResponse:
    """The list under its filters through the one export path (the Exports page's), streamed and audited."""
    try:
        export = export_stream(
            user=request.user, key="incidents", export_format=export_format, params=request.GET
        )
    except PermissionDenied as exc:
        return render(request, "incidents/refused.html", {"reason": str(exc)}, status=403)
    response = StreamingHttpResponse(export.chunks, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@login_required
@require_GET
def incident_export_csv(request: HttpRequest) -> HttpResponse:
    return _export(request, "csv")


@login_required
@require_GET
def incident_export_json(request: HttpRequest) -> HttpResponse:
    return _export(request, "json")


def _owner_choices(incident: Incident) -> list[tuple[int, str]]:
    return selectors.commander_choices(incident=incident)


@login_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_for_user(user=request.user, pk=pk, with_counts=True)
    user = request.user
    may_manage = selectors.incident_may_manage(user=user, incident=incident)
    may_contribute = may_manage or can_contribute(user, team_id=incident.team_id)
    assets = selectors.affected_assets_for_user(user=user, incident=incident)
    hidden = selectors.hidden_asset_count(user=user, incident=incident, shown=len(assets))
    if hidden:
        level = selectors.highest_level(incident=incident)
    else:  # every affected asset is on the page already
        levels = [a.effective_classification for a in assets if a.effective_classification is not None]
        level = max(levels, key=lambda lv: lv.rank) if levels else None
    finished = incident.status in (Status.RESOLVED, Status.CLOSED)
    review = selectors.review_for_incident(incident=incident) if finished else None
    checklist = list(selectors.checklist_for_incident(incident=incident))
    run = checklist[0].run if checklist else None
    index = STATUS_ORDER.index(incident.status)
    next_status = STATUS_ORDER[index + 1] if index + 1 < len(STATUS_ORDER) else None
    context: dict[str, Any] = {
        "incident": incident,
        "may_manage": may_manage,
        "may_contribute": may_contribute,
        "timeline": selectors.timeline_for_incident(incident=incident).select_related(None),
        "durations": selectors.incident_durations(incident=incident).items(),
        "assets": assets,
        "hidden_assets": hidden,
        "level": level,
        # The ladder's confidential rank came with the incident (``with_counts``): no query of its own.
        "level_sensitivity": selectors.level_sensitivity(
            level,
            threshold=selectors.confidential_rank(incident=incident)
            if level and not level.is_restricted
            else None,
        ),
        "findings": selectors.linked_findings_for_user(user=user, incident=incident),
        "checklist": checklist,
        "run": run,
        "escalations": selectors.escalations_for_incident(incident=incident)
        if incident.escalation_level
        else [],
        "review": review,
        "followups": selectors.followups_for_incident(incident=incident),
        "now": timezone.now(),
        "today": timezone.localdate(),
    }
    if may_manage:
        # One read of the team's people serves the commander and owner choices and the grantees.
        memberships = selectors.team_memberships(incident=incident)
        commanders = selectors.commander_choices(incident=incident, memberships=memberships)
        if next_status:
            context["next_status"] = Status(next_status)
            context["transition_form"] = TransitionForm(
                initial={"status": next_status}, commanders=commanders
            )
        if incident.status != Status.REPORTED:
            context["commander_form"] = CommanderForm(commanders=commanders)
        context["correct_form"] = CorrectTimeForm()
        if not checklist and incident.status not in (Status.RESOLVED, Status.CLOSED):
            books = list(selectors.playbook_list().filter(current_version__isnull=False))
            # The playbook written for the incident's category comes first (so it is the default).
            books.sort(key=lambda book: incident.category not in book.categories)
            playbooks = [(book.slug, book.title) for book in books]
            context["start_form"] = StartPlaybookForm(playbooks=playbooks)
        if incident.status in (Status.RESOLVED, Status.CLOSED):
            initial = (
                {
                    "root_cause": review.root_cause,
                    "lessons": review.lessons,
                    "summary": review.summary,
                    "kept_terms": ", ".join(review.kept_terms),
                }
                if review
                else {}
            )
            context["review_form"] = ReviewForm(initial=initial)
            if review and review.summary:
                context["summary_preview"] = review_preview(
                    incident=incident, summary=review.summary, kept=review.kept_terms
                )
        context["followup_form"] = FollowUpForm(owners=commanders)
        from incidents.services.incidents import incident_grantees

        context["grantees"] = incident_grantees(
            incident=incident, member_ids={m.user_id for m in memberships}
        )
    if may_contribute:
        context["note_form"] = NoteForm()
        context["link_form"] = LinkFindingForm()
        context["assets_form"] = AddAssetsForm()
        finding_query = request.GET.get("finding_q", "").strip()
        if finding_query:
            from findings.selectors import finding_list_for_user

            context["finding_query"] = finding_query
            context["finding_results"] = list(
                finding_list_for_user(user=user, filters={"q": finding_query})[:FINDING_SEARCH_LIMIT]
            )
    return render(request, "incidents/detail.html", context)


def _act(request: HttpRequest, pk: int, action: Callable[[Incident], str | None]) -> HttpResponse:
    """Run one action on a visible incident and come back to its page with what happened or why not."""
    incident = selectors.incident_get_for_user(user=request.user, pk=pk)
    try:
        done = action(incident)
    except (ValidationError, PermissionDenied) as exc:
        _report_messages(request, exc)
    else:
        if done:
            messages.success(request, done)
    return redirect(incident)


def _form_errors(request: HttpRequest, form: Any) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@login_required
@require_POST
def incident_transition_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(incident: Incident) -> str | None:
        form = TransitionForm(request.POST, commanders=selectors.commander_choices(incident=incident))
        if not form.is_valid():
            _form_errors(request, form)
            return None
        commander = user_by_id(form.cleaned_data.get("commander"))
        updated = incident_transition(
            actor=request.user,
            incident=incident,
            status=form.cleaned_data["status"],
            at=form.cleaned_data.get("at"),
            note=form.cleaned_data.get("note") or "",
            commander=commander,
        )
        return f"{updated.reference} is now {updated.get_status_display().lower()}."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_commander_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(incident: Incident) -> str | None:
        person = (
            user_by_id(int(request.POST["commander"]))
            if request.POST.get("commander", "").isdigit()
            else None
        )
        if person is None:
            raise ValidationError("Choose the new commander.")
        incident_set_commander(actor=request.user, incident=incident, commander=person)
        return f"{person.get_username()} now commands {incident.reference}."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_grant_view(request: HttpRequest, pk: int) -> HttpResponse:
    revoke = request.POST.get("revoke") == "1"

    def act(incident: Incident) -> str | None:
        username = request.POST.get("username", "").strip()
        person = get_user_model().objects.filter(username=username, is_active=True).first()
        incident_grant(actor=request.user, incident=incident, person=person, revoke=revoke)
        return f"{username} {'no longer sees' if revoke else 'now sees'} {incident.reference}."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_correct_time_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = CorrectTimeForm(request.POST)

    def act(incident: Incident) -> str | None:
        if not form.is_valid():
            _form_errors(request, form)
            return None
        incident_correct_time(
            actor=request.user,
            incident=incident,
            field=form.cleaned_data["field"],
            value=form.cleaned_data["value"],
            reason=form.cleaned_data["reason"],
        )
        return "Time corrected; the timeline keeps the old value and the reason."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = NoteForm(request.POST)

    def act(incident: Incident) -> str | None:
        if not form.is_valid():
            _form_errors(request, form)
            return None
        incident_add_note(actor=request.user, incident=incident, text=form.cleaned_data["text"])
        return "Note added to the timeline."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_link_finding_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = LinkFindingForm(request.POST)

    def act(incident: Incident) -> str | None:
        if not form.is_valid():
            _form_errors(request, form)
            return None
        link = incident_link_finding(
            actor=request.user, incident=incident, finding_id=form.cleaned_data["finding"]
        )
        return f"Finding {link.finding_id} linked."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_add_assets_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = AddAssetsForm(request.POST)

    def act(incident: Incident) -> str | None:
        if not form.is_valid():
            _form_errors(request, form)
            return None
        names = [name.strip() for name in form.cleaned_data["assets"].split(",") if name.strip()]
        ids, errors = selectors.assets_by_names_for_user(
            user=request.user, names=names, team_id=incident.team_id
        )
        if errors:
            raise ValidationError(errors)
        updated = incident_add_assets(actor=request.user, incident=incident, asset_ids=ids)
        if updated.is_restricted and not incident.is_restricted:
            messages.warning(request, f"{updated.reference} now touches restricted data and is restricted.")
        return "Affected assets added."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_start_playbook_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(incident: Incident) -> str | None:
        playbook = selectors.playbook_get(slug=request.POST.get("playbook", ""))
        run = playbook_start(actor=request.user, incident=incident, playbook=playbook)
        return f"Playbook “{playbook.title}” (version {run.version.number}) started: the checklist is below."

    return _act(request, pk, act)


@login_required
@require_POST
def checklist_item_done_view(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    def act(incident: Incident) -> str | None:
        item = ChecklistItem.objects.filter(pk=item_id, run__incident=incident).first()
        if item is None:
            raise ValidationError("No such step on this incident.")
        checklist_item_complete(actor=request.user, item=item, note=request.POST.get("note", ""))
        return f"Step {item.position} done."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_review_view(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReviewForm(request.POST)

    def act(incident: Incident) -> str | None:
        if not form.is_valid():
            _form_errors(request, form)
            return None
        review_save(
            actor=request.user,
            incident=incident,
            root_cause=form.cleaned_data["root_cause"],
            lessons=form.cleaned_data["lessons"],
            summary=form.cleaned_data["summary"],
            kept_terms=form.kept(),
        )
        return "Review saved."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_publish_view(request: HttpRequest, pk: int) -> HttpResponse:
    publish = request.POST.get("publish", "1") == "1"

    def act(incident: Incident) -> str | None:
        review_publish(actor=request.user, incident=incident, publish=publish)
        return "Summary published to Learnings." if publish else "Summary withdrawn from Learnings."

    return _act(request, pk, act)


@login_required
@require_POST
def incident_followup_view(request: HttpRequest, pk: int) -> HttpResponse:
    def act(incident: Incident) -> str | None:
        form = FollowUpForm(request.POST, owners=_owner_choices(incident))
        if not form.is_valid():
            _form_errors(request, form)
            return None
        owner = get_user_model().objects.filter(pk=form.cleaned_data["owner"]).first()
        followup_add(
            actor=request.user,
            incident=incident,
            title=form.cleaned_data["title"],
            owner=owner,
            due_on=form.cleaned_data["due_on"],
        )
        return "Follow-up action added; its owner was told."

    return _act(request, pk, act)


@login_required
@require_POST
def followup_done_view(request: HttpRequest, pk: int) -> HttpResponse:
    followup = selectors.followup_get_for_user(user=request.user, pk=pk)
    try:
        followup_complete(actor=request.user, followup=followup)
    except (ValidationError, PermissionDenied) as exc:
        _report_messages(request, exc)
    else:
        messages.success(request, f"“{followup.title}” done.")
    fallback = (
        followup.incident.get_absolute_url() if followup.incident else followup.exercise.get_absolute_url()
    )  # type: ignore[union-attr]
    return redirect(safe_next(request, fallback))


@login_required
def learning_list(request: HttpRequest) -> HttpResponse:
    return render(request, "incidents/learnings.html", {"page": paginate(request, selectors.learning_list())})
