from celery import shared_task

from hygiene.services.audit import audit_log_seal


@shared_task(name="hygiene.tasks.seal_audit_log")
def seal_audit_log() -> int:
    return audit_log_seal()


@shared_task(name="hygiene.tasks.send_notification_emails")
def send_notification_emails(ids: list[int]) -> int:
    from hygiene.services.notifications import notification_send_emails

    return notification_send_emails(ids=ids)
