"""Sign-in events go to the audit log, and workers' tasks name themselves to the audit triggers."""

from typing import Any

from celery.signals import task_postrun, task_prerun
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from hygiene.middleware import request_context
from hygiene.services.audit import audit_actor_set, audit_event


def _context(request: HttpRequest | None) -> dict[str, str]:
    return {} if request is None else request_context(request)


def _record(action: str, request: HttpRequest | None, user: Any) -> None:
    audit_event(
        action=action,
        object_type="auth_user",
        object_id=str(user.pk),
        actor_id=user.pk,
        actor_label=user.get_username(),
        context=_context(request),
    )


@receiver(user_logged_in)
def record_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    _record("login", request, user)


@receiver(user_logged_out)
def record_logout(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is not None:
        _record("logout", request, user)


@receiver(user_login_failed)
def record_login_failure(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit_event(
        action="login_failed",
        object_type="auth_user",
        actor_label=username,
        detail={"username": username},
        context=_context(request),
    )


@task_prerun.connect
def name_the_task_as_actor(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """Changes a worker makes are the task's: the audit triggers name it (not the database session)."""
    if task is None or task.request.is_eager:  # run inside a request, which named its actor already
        return
    context = {"task": task.name, "id": task_id}
    audit_actor_set(actor_id=None, actor_label=f"task:{task.name}", context=context)


@task_postrun.connect
def forget_the_task_actor(task: Any = None, **kwargs: Any) -> None:
    if task is None or task.request.is_eager:
        return
    audit_actor_set(actor_id=None, actor_label="", context={})
