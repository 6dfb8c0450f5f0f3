"""Mail: an outbox written in the cause's transaction, templates, and SMTP delivery.

Services call the functions of `storeplex.mail.notify` (or `enqueue_account_mail`)
inside their own transaction; nothing is sent until that transaction commits and
the worker's `deliver_due` picks the row up.
"""

from storeplex.mail.outbox import enqueue, enqueue_account_mail

__all__ = ["enqueue", "enqueue_account_mail"]
